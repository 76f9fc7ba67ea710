package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Statement kinds, as counted by Stats and reported in the sva.db.statements metric's
// "sva.db.statement" attribute. Every kind but KindPrepare is one statement the engine
// executes; KindPrepare is a statement being prepared on a connection (once per connection).
const (
	KindQuery    = "query"    // a statement returning rows (SELECT, … RETURNING)
	KindExec     = "exec"     // a statement returning no rows (INSERT, UPDATE, DELETE, DDL)
	KindBegin    = "begin"    // BEGIN
	KindCommit   = "commit"   // COMMIT
	KindRollback = "rollback" // ROLLBACK
	KindPrepare  = "prepare"  // a server-side prepare (not an execution)
)

// StatementMetric is the name of the cumulative counter every service exports for its
// database: attributes db.namespace (Config.Name) and sva.db.statement (a Kind…).
const StatementMetric = "sva.db.statements"

// Counts are the statements one database handle (all handles opened under one Config.Name,
// summed) sent to its engine since the process started. They are counted at the driver, so
// they include everything: bun queries, prepared statements, BEGIN/COMMIT, migrations.
type Counts struct {
	Queries, Execs, Begins, Commits, Rollbacks, Prepares int64
}

// Statements is every statement the engine executed: queries, execs, BEGIN, COMMIT and
// ROLLBACK (prepares are not executions).
func (c Counts) Statements() int64 {
	return c.Queries + c.Execs + c.Begins + c.Commits + c.Rollbacks
}

// Sub returns c - o (the counts of an interval).
func (c Counts) Sub(o Counts) Counts {
	return Counts{Queries: c.Queries - o.Queries, Execs: c.Execs - o.Execs, Begins: c.Begins - o.Begins,
		Commits: c.Commits - o.Commits, Rollbacks: c.Rollbacks - o.Rollbacks, Prepares: c.Prepares - o.Prepares}
}

// Stats returns the counts for the databases opened under name in this process (zero if none).
func Stats(name string) Counts {
	c, ok := counters.Load(name)
	if !ok {
		return Counts{}
	}
	return c.(*counter).snapshot()
}

// Statement is one statement as an Observer sees it. Args are the driver's arguments (nil
// when the query was interpolated client-side, as bun does).
type Statement struct {
	DB    string // Config.Name
	Kind  string // a Kind… constant
	Query string // "" for BEGIN, COMMIT, ROLLBACK
	Args  []driver.NamedValue
}

// Observer sees every statement of every database of the process, synchronously, as it is
// sent. It must be cheap and safe for concurrent use.
type Observer func(context.Context, Statement)

var observer atomic.Pointer[Observer]

// Observe installs fn as the process's observer and returns a function removing it. Tests use
// it to check what a request does to the database (e.g. that it reads no row twice); nothing in
// production observes statements.
func Observe(fn Observer) (stop func()) {
	observer.Store(&fn)
	return func() { observer.CompareAndSwap(&fn, nil) }
}

// counter holds one database name's counts.
type counter struct {
	name                                             string
	queries, execs, begins, commits, rollbacks, prep atomic.Int64
}

func (c *counter) snapshot() Counts {
	return Counts{Queries: c.queries.Load(), Execs: c.execs.Load(), Begins: c.begins.Load(),
		Commits: c.commits.Load(), Rollbacks: c.rollbacks.Load(), Prepares: c.prep.Load()}
}

func (c *counter) add(ctx context.Context, kind, query string, args []driver.NamedValue) {
	switch kind {
	case KindQuery:
		c.queries.Add(1)
	case KindExec:
		c.execs.Add(1)
	case KindBegin:
		c.begins.Add(1)
	case KindCommit:
		c.commits.Add(1)
	case KindRollback:
		c.rollbacks.Add(1)
	case KindPrepare:
		c.prep.Add(1)
	}
	if fn := observer.Load(); fn != nil {
		(*fn)(ctx, Statement{DB: c.name, Kind: kind, Query: query, Args: args})
	}
}

// counters holds the counts of every database name opened in this process.
var counters sync.Map // Config.Name → *counter

// counterFor returns name's counter.
func counterFor(name string) *counter {
	c, _ := counters.LoadOrStore(name, &counter{name: name})
	return c.(*counter)
}

// statementMetric registers StatementMetric for name's counter with mp (the service's meter
// provider; Open calls it). The instrument is observable: counting is a few atomic adds per
// statement, and the metric SDK reads the totals only when it collects. Handles opened under one
// name in one process share the count, so they should share a provider too (one service).
func statementMetric(name string, mp metric.MeterProvider) error {
	c := counterFor(name)
	ns := attribute.String("db.namespace", name)
	_, err := mp.Meter(meterName).Int64ObservableCounter(StatementMetric,
		metric.WithDescription("Statements sent to the database, by kind (prepare is not an execution)."),
		metric.WithUnit("{statement}"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			s := c.snapshot()
			for kind, n := range map[string]int64{KindQuery: s.Queries, KindExec: s.Execs, KindBegin: s.Begins,
				KindCommit: s.Commits, KindRollback: s.Rollbacks, KindPrepare: s.Prepares} {
				o.Observe(n, metric.WithAttributes(ns, attribute.String("sva.db.statement", kind)))
			}
			return nil
		}))
	return err
}

// countingConnector wraps a driver.Connector so that every statement its connections send is
// counted (Stats, the sva.db.statements metric). The wrappers forward every optional driver
// interface the wrapped connection implements and answer driver.ErrSkip for the others, so
// database/sql behaves exactly as it would with the bare driver.
type countingConnector struct {
	base driver.Connector
	c    *counter
	// server marks a database server's connections (PostgreSQL, MariaDB/MySQL), which are
	// dropped once broken (countingConn.failed); a SQLite connection is a file handle, kept.
	server bool
}

func (k countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := k.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: k.c, server: k.server}, nil
}

// A connection on which a call failed as IsUnavailable says (its deadline ran out, the network
// failed) is broken: database/sql drops it instead of reusing it (IsValid), and its prepared
// statements are not closed one by one over it first — pgdriver waits up to its read timeout
// (10 s) for each Close on a server that stopped answering, in the goroutine of the request
// releasing the connection (TestFault_DatabaseFailsOver). The server frees a closed
// connection's statements itself.
func (w *countingConn) failed(err error) error {
	if w.server && IsUnavailable(err) {
		w.broken.Store(true)
	}
	return err
}

func (k countingConnector) Driver() driver.Driver { return k.base.Driver() }

type countingConn struct {
	driver.Conn
	c      *counter
	server bool
	broken atomic.Bool
}

// Unwrap returns the driver's connection (modernc.org/sqlite's helpers look through wrappers).
func (w *countingConn) Unwrap() driver.Conn { return w.Conn }

func (w *countingConn) Prepare(query string) (driver.Stmt, error) {
	return w.PrepareContext(context.Background(), query)
}

func (w *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if p, ok := w.Conn.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, query)
	} else {
		s, err = w.Conn.Prepare(query)
	}
	if err != nil {
		return nil, w.failed(err)
	}
	w.c.add(ctx, KindPrepare, query, nil)
	return &countingStmt{Stmt: s, c: w.c, query: query, conn: w}, nil
}

func (w *countingConn) Begin() (driver.Tx, error) {
	return w.BeginTx(context.Background(), driver.TxOptions{})
}

func (w *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var (
		tx  driver.Tx
		err error
	)
	w.c.add(ctx, KindBegin, "", nil)
	if b, ok := w.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = w.Conn.Begin() //nolint:staticcheck // the driver offers nothing better
	}
	if err != nil {
		return nil, w.failed(err)
	}
	return &countingTx{Tx: tx, c: w.c, ctx: ctx, conn: w}, nil
}

func (w *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := w.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares instead; the statement is counted there
	}
	w.c.add(ctx, KindExec, query, args)
	r, err := e.ExecContext(ctx, query, args)
	return r, w.failed(err)
}

func (w *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := w.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	w.c.add(ctx, KindQuery, query, args)
	rows, err := q.QueryContext(ctx, query, args)
	return rows, w.failed(err)
}

func (w *countingConn) Ping(ctx context.Context) error {
	if p, ok := w.Conn.(driver.Pinger); ok {
		return w.failed(p.Ping(ctx))
	}
	return nil
}

func (w *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := w.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (w *countingConn) IsValid() bool {
	if w.broken.Load() {
		return false
	}
	if v, ok := w.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (w *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := w.Conn.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type countingTx struct {
	driver.Tx
	c    *counter
	ctx  context.Context
	conn *countingConn
}

func (t *countingTx) Commit() error {
	t.c.add(t.ctx, KindCommit, "", nil)
	return t.conn.failed(t.Tx.Commit())
}

func (t *countingTx) Rollback() error {
	t.c.add(t.ctx, KindRollback, "", nil)
	return t.conn.failed(t.Tx.Rollback())
}

type countingStmt struct {
	driver.Stmt
	c     *counter
	query string
	conn  *countingConn
}

// Close closes the statement on the server, unless its connection is broken (see failed).
func (s *countingStmt) Close() error {
	if s.conn.broken.Load() {
		return nil
	}
	return s.Stmt.Close()
}

func (s *countingStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.c.add(context.Background(), KindExec, s.query, nil)
	return s.Stmt.Exec(args) //nolint:staticcheck // database/sql calls this only for drivers without ExecContext
}

func (s *countingStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.c.add(context.Background(), KindQuery, s.query, nil)
	return s.Stmt.Query(args) //nolint:staticcheck // as Exec
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.add(ctx, KindExec, s.query, args)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		r, err := e.ExecContext(ctx, args)
		return r, s.conn.failed(err)
	}
	vals, err := plainValues(args)
	if err != nil {
		return nil, err
	}
	return s.Stmt.Exec(vals) //nolint:staticcheck // the driver offers nothing better
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.add(ctx, KindQuery, s.query, args)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		rows, err := q.QueryContext(ctx, args)
		return rows, s.conn.failed(err)
	}
	vals, err := plainValues(args)
	if err != nil {
		return nil, err
	}
	return s.Stmt.Query(vals) //nolint:staticcheck // the driver offers nothing better
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// plainValues turns positional named values into the values of the context-free driver API.
func plainValues(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("sqldb: the driver does not support named parameters")
		}
		out[i] = a.Value
	}
	return out, nil
}
