package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
)

// BenchmarkSweep_SoakedDatabase times a sweep of a SQLite database holding a day of finished
// sign-ins (300,000 authorization requests, none old enough to delete) and reports its longest
// statement — how long the sweep may hold the write lock every sign-in needs:
//
//	go test -run '^$' -bench BenchmarkSweep_SoakedDatabase -benchtime 5x ./adapters/oauth/sqlstore/
func BenchmarkSweep_SoakedDatabase(b *testing.B) {
	ctx := context.Background()
	db := dbtest.Engines[0].Open(b, sqlstore.Migrations())
	s := sqlstore.New(db)
	now := time.Now()
	c, _ := oauthtest.NewClient(b)
	if err := s.Clients.Create(ctx, c); err != nil {
		b.Fatal(err)
	}
	if err := s.AuthRequests.Create(ctx, oauthtest.NewAuthRequest(b, c, now.Add(-30*time.Minute))); err != nil {
		b.Fatal(err)
	}
	const requests = 300_000
	copyRequest(b, db, requests)
	longest := &longestStatement{}
	db.AddQueryHook(longest)
	p, err := grant.PurgeAt(now, 24*time.Hour, grant.DefaultLifetimes())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := s.Sweeper.Sweep(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(longest.took().Microseconds())/1000, "ms-longest-statement")
}

// copyRequest fills oauth_auth_requests with n approved copies of its one row, in one statement.
func copyRequest(b *testing.B, db *bun.DB, n int) {
	ctx := sqldb.WithoutQueryDeadline(context.Background())
	var columns []string
	if err := db.NewRaw("SELECT name FROM pragma_table_info('oauth_auth_requests')").Scan(ctx, &columns); err != nil {
		b.Fatal(err)
	}
	values := make([]string, len(columns))
	for i, c := range columns {
		switch c {
		case "id":
			values[i] = "'copy-' || n"
		case "status":
			values[i] = "'approved'"
		case "code_hash", "device_code_hash", "user_code_hash": // unique
			values[i] = "NULL"
		default:
			values[i] = c
		}
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM seq WHERE n < %d)"+
		" INSERT INTO oauth_auth_requests (%s) SELECT %s FROM seq, (SELECT * FROM oauth_auth_requests LIMIT 1)",
		n, strings.Join(columns, ","), strings.Join(values, ","))); err != nil {
		b.Fatal(err)
	}
}

type longestStatement struct {
	mu      sync.Mutex
	longest time.Duration
}

func (l *longestStatement) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (l *longestStatement) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.longest = max(l.longest, time.Since(e.StartTime))
}

func (l *longestStatement) took() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.longest
}
