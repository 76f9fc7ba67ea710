package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/extra/bunotel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// queryHook traces every statement with bunotel and times it, on the service's own providers.
// It wraps bunotel's hook rather than embedding it: bunotel's Init would register database/sql
// pool metrics with the global meter provider, which SVA never sets (poolMetrics registers them
// with the service's), and bunotel's own timing histogram labels a statement by its first word —
// "--" for a migration — so bunotel gets a no-op meter and the duration is recorded here.
type queryHook struct {
	h        *bunotel.QueryHook
	duration metric.Float64Histogram
	system   attribute.KeyValue
	ns       attribute.KeyValue
}

func (q queryHook) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	return q.h.BeforeQuery(ctx, e)
}

func (q queryHook) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	q.h.AfterQuery(ctx, e)
	op, table := operation(e)
	attrs := []attribute.KeyValue{q.system, q.ns, attribute.String("db.operation.name", op)}
	if table != "" {
		attrs = append(attrs, attribute.String("db.collection.name", table))
	}
	if e.Err != nil && !errors.Is(e.Err, sql.ErrNoRows) {
		attrs = append(attrs, attribute.String("error.type", "error"))
	}
	q.duration.Record(ctx, time.Since(e.StartTime).Seconds(), metric.WithAttributes(attrs...))
}

// MetricOperationDuration is the statement duration histogram (OpenTelemetry database client
// semantic conventions).
const MetricOperationDuration = "db.client.operation.duration"

// addTelemetry installs the query hook and the pool metrics of cfg's providers (no-op ones when
// unset).
func addTelemetry(db *bun.DB, cfg Config) error {
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	duration, err := mp.Meter(meterName).Float64Histogram(MetricOperationDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of database statements, by operation and table"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	if err != nil {
		return err
	}
	db.AddQueryHook(queryHook{
		h: bunotel.NewQueryHook(bunotel.WithDBName(cfg.Name), bunotel.WithTracerProvider(tp),
			bunotel.WithMeterProvider(metricnoop.NewMeterProvider()), bunotel.WithSpanNameQueryGen(spanName)),
		duration: duration,
		system:   attribute.String("db.system.name", dbSystem(db)),
		ns:       attribute.String("db.namespace", cfg.Name),
	})
	if err := statementMetric(cfg.Name, mp); err != nil {
		return err
	}
	return poolMetrics(db, cfg.Name, mp)
}

// meterName names the instruments of this package.
const meterName = "github.com/sva-oauth/sva/adapters/sqldb"

// dbSystem is the db.system.name of db's engine.
func dbSystem(db *bun.DB) string {
	switch Dialect(db) {
	case DialectPostgres:
		return "postgresql"
	case DialectSQLite:
		return "sqlite"
	}
	return Dialect(db)
}

// spanName names a statement's span after its operation and, for a query bun built, its table:
// "SELECT oauth_clients", "INSERT oauth_grants", "CREATE TABLE" (a migration), "BEGIN". bun's own
// operation of a raw statement is its first word, which for a migration file is the "--" of its
// leading comment.
func spanName(e *bun.QueryEvent) string {
	op, table := operation(e)
	if table != "" {
		return op + " " + table
	}
	return op
}

// operation is a statement's operation and, for a query bun built, its table.
func operation(e *bun.QueryEvent) (op, table string) {
	if e.IQuery != nil {
		return e.IQuery.Operation(), e.IQuery.GetTableName()
	}
	return statementOperation(e.Query), ""
}

// statementOperation is the operation of a raw SQL statement: its first keyword after any
// comments, with the object kind for DDL ("CREATE TABLE", "ALTER INDEX"); "SQL" if there is none.
func statementOperation(query string) string {
	words := make([]string, 0, 2)
	rest := query
	for len(words) < 2 {
		rest = skipSpaceAndComments(rest)
		end := strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' })
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			break
		}
		words = append(words, strings.ToUpper(rest[:end]))
		rest = rest[end:]
		if w := words[0]; w != "CREATE" && w != "ALTER" && w != "DROP" {
			break
		}
	}
	if len(words) == 0 {
		return "SQL"
	}
	if len(words) == 2 && words[1] == "UNIQUE" {
		words[1] = "INDEX" // CREATE UNIQUE INDEX
	}
	return strings.Join(words, " ")
}

// skipSpaceAndComments drops leading white space, "-- …" line comments and "/* … */" comments.
func skipSpaceAndComments(s string) string {
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return ""
			}
			s = s[i+2:]
		default:
			return s
		}
	}
}

// Pool metric names (OpenTelemetry database client semantic conventions where they have one).
const (
	MetricPoolConnections = "db.client.connection.count"         // by db.client.connection.state: idle | used
	MetricPoolMax         = "db.client.connection.max"           // the pool's cap (0: unlimited)
	MetricPoolWaits       = "db.client.connection.waits"         // cumulative waits for a free connection
	MetricPoolWaitTime    = "db.client.connection.wait_duration" // cumulative time spent waiting, seconds
)

// poolMetrics reports database/sql's pool statistics as observable instruments, read when the
// metrics are collected (a scrape or an OTLP export), attributed with the pool's name.
func poolMetrics(db *bun.DB, name string, mp metric.MeterProvider) error {
	m := mp.Meter(meterName)
	pool := attribute.String("db.client.connection.pool.name", name)
	count, err := m.Int64ObservableUpDownCounter(MetricPoolConnections, metric.WithUnit("{connection}"),
		metric.WithDescription("Connections of the database pool, by state (idle, used)"))
	if err != nil {
		return err
	}
	maxOpen, err := m.Int64ObservableUpDownCounter(MetricPoolMax, metric.WithUnit("{connection}"),
		metric.WithDescription("The database pool's maximum number of open connections"))
	if err != nil {
		return err
	}
	waits, err := m.Int64ObservableCounter(MetricPoolWaits, metric.WithUnit("{wait}"),
		metric.WithDescription("Times a query waited for a free connection of the database pool"))
	if err != nil {
		return err
	}
	waitTime, err := m.Float64ObservableCounter(MetricPoolWaitTime, metric.WithUnit("s"),
		metric.WithDescription("Total time queries waited for a free connection of the database pool"))
	if err != nil {
		return err
	}
	idle := metric.WithAttributes(pool, attribute.String("db.client.connection.state", "idle"))
	used := metric.WithAttributes(pool, attribute.String("db.client.connection.state", "used"))
	poolOnly := metric.WithAttributes(pool)
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := db.Stats()
		o.ObserveInt64(count, int64(s.Idle), idle)
		o.ObserveInt64(count, int64(s.InUse), used)
		o.ObserveInt64(maxOpen, int64(s.MaxOpenConnections), poolOnly)
		o.ObserveInt64(waits, s.WaitCount, poolOnly)
		o.ObserveFloat64(waitTime, s.WaitDuration.Seconds(), poolOnly)
		return nil
	}, count, maxOpen, waits, waitTime)
	return err
}
