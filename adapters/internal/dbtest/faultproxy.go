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

// FaultProxy is a TCP proxy in front of a database server (PostgreSQL, MariaDB/MySQL) that a test can freeze (bytes stop
// flowing, connections stay open: a hung server) and cut (every connection closed, new ones
// refused: a stopped server), then restore.
type FaultProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	mode   string // "", "freeze", "cut"
	conns  []net.Conn
	thawed chan struct{}
	done   chan struct{} // closed when the test ends: stranded pipes give up
	// gen counts failovers; a connection accepted before the latest one is stranded.
	gen int
}

func newFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{ln: ln, target: target, thawed: make(chan struct{}), done: make(chan struct{})}
	close(p.thawed)
	t.Cleanup(func() { close(p.done); _ = ln.Close(); p.closeAll() })
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
		gen := p.gen
		p.mu.Unlock()
		go p.pipe(up, c, gen)
		go p.pipe(c, up, gen)
	}
}

// pipe copies src to dst, holding every chunk while the proxy is frozen and dropping every chunk
// for good once the connection (accepted in generation gen) is stranded by a failover.
func (p *FaultProxy) pipe(dst, src net.Conn, gen int) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thawed := p.thawed
			if gen < p.gen {
				thawed = nil // stranded: wait for the end of the test
			}
			p.mu.Unlock()
			select {
			case <-thawed:
			case <-p.done:
				return
			}
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

// FailOver ends a freeze or a cut as a failover does: new connections reach the database, but
// every connection opened before stays hung for good — the bytes held while frozen and every
// byte after are lost, like traffic to the old host, which never answers and never resets.
func (p *FaultProxy) FailOver() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	p.mode = ""
	// A new, open gate for new connections; the pipes waiting at the old one never pass it.
	p.thawed = make(chan struct{})
	close(p.thawed)
}

// FaultTimeout is the QueryTimeout (DATABASE_TIMEOUT) of the databases the fault scenarios
// open: short, so the scenarios run fast; a service's answers while the database is down must
// come within it plus a margin.
const FaultTimeout = time.Second

// FaultSubject is a service running over a database behind a FaultProxy, as the fault scenarios
// check it. RunFault owns the timing, the parallel callers and the readiness polling; a subject
// says only what one call, readiness and recovery are for its service.
type FaultSubject interface {
	// Unavailable makes one request that needs the database and returns "" when the answer is
	// the service's 503 with Retry-After, or a description of the answer that came instead.
	Unavailable() string
	// Readiness returns the status code of the service's /readyz.
	Readiness() int
	// Recovered checks, once the service is ready again, that it works and lost nothing.
	Recovered()
}

// faultAnswerBound is how long a call may take while the database is down: FaultTimeout plus a
// margin for a loaded machine (a frozen database used to hold requests for 10 s).
const faultAnswerBound = 3 * time.Second

// faultReadinessBound is how long /readyz may take to say 503 while the database is down.
const faultReadinessBound = 2 * time.Second

// checkDown calls s three times with parallel callers at once and checks that every answer is
// a prompt 503 with Retry-After, then that readiness says 503 within its bound.
func checkDown(t *testing.T, s FaultSubject, phase string, parallel int) {
	t.Helper()
	for range 3 {
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				start := time.Now()
				got := s.Unavailable()
				if took := time.Since(start); took > faultAnswerBound {
					t.Errorf("%s: answered after %s, want within the %s database deadline plus a margin (%s)", phase, took, FaultTimeout, faultAnswerBound)
				}
				if got != "" {
					t.Errorf("%s: %s, want the service's 503 with Retry-After", phase, got)
				}
			})
		}
		wg.Wait()
	}
	start := time.Now()
	if code := s.Readiness(); code != 503 || time.Since(start) > faultReadinessBound {
		t.Errorf("%s: /readyz %d after %s, want 503 within %s", phase, code, time.Since(start), faultReadinessBound)
	}
}

// checkBack waits up to bound for readiness, then lets s check that it works and lost nothing.
func checkBack(t *testing.T, s FaultSubject, bound time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		code := s.Readiness()
		if code == 200 {
			break
		}
		if time.Since(start) > bound {
			t.Fatalf("/readyz still %d %s after the database came back", code, bound)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("ready again %s after the database came back", time.Since(start).Round(10*time.Millisecond))
	s.Recovered()
}

// FaultScenario is a way the database fails and comes back.
type FaultScenario int

const (
	// FrozenCutAndBack (issue 8): the database freezes, then is cut, then is restored.
	FrozenCutAndBack FaultScenario = iota
	// FailsOver: the database freezes while callers queue for its connections (more than the
	// pool's four), then fails over (FaultProxy.FailOver): the connections opened before —
	// including those the pool was opening in the background — stay hung for good, so the
	// service must be ready again within the drivers' 10 s read bound plus a margin.
	FailsOver
)

// RunFault runs scenario as one subtest per server engine (PostgreSQL, MariaDB/MySQL), each over a
// fresh migrated database reached through its own FaultProxy and opened with FaultTimeout; start
// builds the service over it. A subtest skips (or fails) as OpenPostgres and OpenMySQL do without
// the engine's DSN; SQLite, a file rather than a connection, has nothing to freeze or cut.
func RunFault(t *testing.T, scenario FaultScenario, migrations *migrate.Migrations, start func(*testing.T, *bun.DB) FaultSubject) {
	t.Helper()
	for _, e := range Engines {
		if e.Name == "sqlite" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			db, p := openBehindProxy(t, e.Open(t, migrations), FaultTimeout)
			s := start(t, db)
			p.Freeze()
			switch scenario {
			case FrozenCutAndBack:
				checkDown(t, s, "frozen", 1)
				p.Cut()
				checkDown(t, s, "cut", 1)
				p.Restore()
				checkBack(t, s, 10*time.Second)
			case FailsOver:
				checkDown(t, s, "frozen, 12 at once", 12)
				p.FailOver()
				checkBack(t, s, 20*time.Second)
			default:
				t.Fatalf("dbtest: unknown fault scenario %d", scenario)
			}
		})
	}
}

// openBehindProxy opens the database of migrated again, through a FaultProxy in front of its
// server, with QueryTimeout timeout.
func openBehindProxy(t testing.TB, migrated *bun.DB, timeout time.Duration) (*bun.DB, *FaultProxy) {
	t.Helper()
	u, err := url.Parse(DSN(t, migrated))
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" { // the engine's default port
		port := "5432"
		if sqldb.Dialect(migrated) == "mysql" {
			port = "3306"
		}
		target = net.JoinHostPort(u.Hostname(), port)
	}
	proxy := newFaultProxy(t, target)
	u.Host = proxy.ln.Addr().String()
	db, err := sqldb.Open(context.Background(), sqldb.Config{DSN: u.String(), Name: "fault", QueryTimeout: timeout, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, proxy
}
