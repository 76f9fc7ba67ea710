package dbtest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"
)

// RequireIndexSearches runs do against db — a SQLite database from Engines[0] — records every
// statement it sends, and fails the test for each whose query plan (EXPLAIN QUERY PLAN) reads a
// whole table or index (a SCAN step) rather than searching an index. It is how a store proves that
// its housekeeping stays cheap as the tables grow: on SQLite a statement that writes holds the one
// write lock for as long as it reads, so a scan there stalls every other writer. It returns each
// statement's plan, for a caller to check which index a statement searches.
func RequireIndexSearches(t *testing.T, db *bun.DB, do func(ctx context.Context) error) map[string][]string {
	t.Helper()
	rec := &statementRecorder{}
	db.AddQueryHook(rec)
	ctx := context.Background()
	if err := do(ctx); err != nil {
		t.Fatalf("RequireIndexSearches: %v", err)
	}
	statements := rec.taken()
	if len(statements) == 0 {
		t.Fatal("RequireIndexSearches: no statement was sent")
	}
	plans := map[string][]string{}
	for _, q := range statements {
		switch strings.ToUpper(strings.Fields(q)[0]) {
		case "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE":
			continue
		}
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q)
		if err != nil {
			t.Fatalf("EXPLAIN QUERY PLAN %s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatalf("EXPLAIN QUERY PLAN %s: %v", q, err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatalf("EXPLAIN QUERY PLAN %s: %v", q, err)
		}
		plans[q] = plan
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") {
				t.Errorf("%s\nreads a whole table or index (%q); plan:\n  %s", q, step, strings.Join(plan, "\n  "))
				break
			}
		}
	}
	return plans
}

type statementRecorder struct {
	mu         sync.Mutex
	statements []string
}

func (r *statementRecorder) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (r *statementRecorder) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statements = append(r.statements, e.Query)
}

func (r *statementRecorder) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.statements...)
}
