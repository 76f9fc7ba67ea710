package dbtest

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

// FaultProxy is a TCP proxy in front of the shared PostgreSQL that a test can freeze (bytes stop
// flowing, connections stay open: a hung server) and cut (every connection closed, new ones
// refused: a stopped server), then restore.
type FaultProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	mode   string // "", "freeze", "cut"
	conns  []net.Conn
	thawed chan struct{}
}

func newFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{ln: ln, target: target, thawed: make(chan struct{})}
	close(p.thawed)
	t.Cleanup(func() { _ = ln.Close(); p.closeAll() })
	go p.serve()
	return p
}

func (p *FaultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		if mode == "cut" {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst, holding every chunk while the proxy is frozen.
func (p *FaultProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thawed := p.thawed
			p.mu.Unlock()
			<-thawed
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				_ = dst.Close()
			}
			_ = dst.Close()
			return
		}
	}
}

func (p *FaultProxy) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (p *FaultProxy) set(mode string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	wasFrozen := p.mode == "freeze"
	p.mode = mode
	switch {
	case mode == "freeze" && !wasFrozen:
		p.thawed = make(chan struct{})
	case mode != "freeze" && wasFrozen:
		close(p.thawed)
	}
	if mode == "cut" {
		go p.closeAll()
	}
}

// Freeze stops every byte between the service and the database; connections stay open.
func (p *FaultProxy) Freeze() { p.set("freeze") }

// Cut closes every connection and refuses new ones, as a stopped server does.
func (p *FaultProxy) Cut() { p.set("cut") }

// Restore lets traffic through again.
func (p *FaultProxy) Restore() { p.set("") }

// OpenPostgresBehindProxy is OpenPostgres reached through a FaultProxy, opened with sqldb's
// QueryTimeout timeout (a short one keeps fault tests fast): the fault suites freeze and cut it.
func OpenPostgresBehindProxy(t testing.TB, migrations *migrate.Migrations, timeout time.Duration) (*bun.DB, *FaultProxy) {
	t.Helper()
	migrated := OpenPostgres(t, migrations)
	u, err := url.Parse(DSN(t, migrated))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFaultProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	db, err := sqldb.Open(context.Background(), sqldb.Config{DSN: u.String(), Name: "fault", QueryTimeout: timeout, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, proxy
}
