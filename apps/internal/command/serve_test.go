package command

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

func TestListener(t *testing.T) {
	ctx := context.Background()
	// A caller's listener that never serves is closed by Close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	NewListener(ln).Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("unserved caller listener: Accept %v, want closed", err)
	}

	// A caller's listener is served as it is; once serving, Close leaves it to the server.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := NewListener(ln)
	var served net.Addr
	if err := l.Serve(ctx, "svc", "unused:1", nil, nil, nil, func(got net.Listener) error {
		served = got.Addr()
		return nil
	}); err != nil || served.String() != ln.Addr().String() {
		t.Fatalf("Serve: %v, served %v, want %v", err, served, ln.Addr())
	}
	l.Close()
	go func() { c, _ := net.Dial("tcp", ln.Addr().String()); c.Close() }()
	if c, err := ln.Accept(); err != nil {
		t.Errorf("served listener was closed by Close: %v", err)
	} else {
		c.Close()
	}

	// Without one, Serve listens on addr; a listen failure names the service.
	if err := NewListener(nil).Serve(ctx, "svc", "127.0.0.1:0", nil, nil, nil, func(got net.Listener) error {
		served = got.Addr()
		return errors.New("stopped")
	}); err == nil || err.Error() != "stopped" || !strings.HasPrefix(served.String(), "127.0.0.1:") {
		t.Errorf("Serve on addr: %v, served %v", err, served)
	}
	if err := NewListener(nil).Serve(ctx, "svc", "256.0.0.1:1", nil, nil, nil, nil); err == nil ||
		!strings.HasPrefix(err.Error(), "svc: listen on 256.0.0.1:1: ") {
		t.Errorf("bad addr: %v", err)
	}
}
