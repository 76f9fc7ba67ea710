package sqldb

import (
	"context"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// DefaultQueryTimeout is Config.QueryTimeout's default (DATABASE_TIMEOUT): how long one database
// call — a statement, or a whole transaction from BEGIN to COMMIT — may take before it is cut
// short and the request answered 503 (IsUnavailable). A healthy database answers in
// milliseconds; a frozen one must not hold a request (and its pooled connection) for long.
const DefaultQueryTimeout = 3 * time.Second

// deadlineHook gives every call on a database a deadline (issue 8: a frozen database held
// requests for 10 s, then 500). A statement's deadline ends with it; a transaction's, set at
// BEGIN, bounds the transaction as a whole, because database/sql ties a transaction to the
// context it began with — that context must outlive BEGIN and is released by its timer.
// A caller's earlier deadline always wins (context.WithTimeout keeps the earlier one).
type deadlineHook struct{ timeout time.Duration }

type cancelKey struct{}

type noDeadlineKey struct{}

// WithoutQueryDeadline marks ctx so the database calls made with it carry no deadline of their
// own: for schema migrations and the start-up key generation, bounded by their own callers.
func WithoutQueryDeadline(ctx context.Context) context.Context {
	return context.WithValue(ctx, noDeadlineKey{}, true)
}

func (h deadlineHook) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if h.timeout <= 0 || ctx.Value(noDeadlineKey{}) != nil {
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	return context.WithValue(ctx, cancelKey{}, cancel)
}

// AfterQuery ends the deadline of a query built with bun's query builders (NewSelect, NewRaw, …),
// whose rows bun has read in full by now. Calls without a query (BEGIN, whose context the
// transaction keeps; COMMIT; db.QueryContext and QueryRowContext, whose rows the caller reads
// after this hook) keep theirs until the timer fires. (bun's SelectQuery.Rows, which would hand
// out rows after this hook, is not used by SVA's stores.)
func (h deadlineHook) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if e.IQuery == nil {
		return
	}
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// queryTimeouts records each database's QueryTimeout for the calls that bypass bun's hooks
// (Prepared statements), keyed by the *sql.DB that Open created.
var queryTimeouts sync.Map

// withQueryDeadline bounds ctx by db's QueryTimeout, as the hook does for bun's calls.
func withQueryDeadline(ctx context.Context, db *bun.DB) (context.Context, context.CancelFunc) {
	timeout := DefaultQueryTimeout
	if v, ok := queryTimeouts.Load(db.DB); ok {
		timeout = v.(time.Duration)
	}
	if timeout <= 0 || ctx.Value(noDeadlineKey{}) != nil {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}
