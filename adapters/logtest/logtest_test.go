package logtest_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sva-oauth/sva/adapters/logtest"
)

func TestBuffer_ConcurrentWrites(t *testing.T) {
	var b logtest.Buffer
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i) })
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 50 {
		t.Fatalf("%d lines, want 50", n)
	}
	b.Reset()
	if b.String() != "" {
		t.Fatal("Reset kept the contents")
	}
}
