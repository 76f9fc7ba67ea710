// Command bench is SVA's load driver for the OAuth provider's token endpoint (`make bench`).
//
// It starts the real provider (apps/oauth/app.Run "serve", default configuration) in-process on
// ephemeral loopback ports — once on SQLite (DATABASE_URL empty → oauth.db in a temp
// SVA_DATA_DIR) and once on PostgreSQL (a fresh database, dropped afterwards) — registers a
// confidential client with `oauth clients create`, and measures with closed-loop workers:
//
//   - exchange: POST /oauth/token grant_type=authorization_code, one pre-minted code per request
//     (scope "openid email", so every response carries a signed id_token). The codes are minted
//     through the real flow (authorize → consent-complete with an ES256 data token verified
//     against a local JWKS) before the measurement, which does not count them.
//   - refresh: each worker rotates its own refresh-token chain (grant_type=refresh_token).
//
// Every run is bounded by -duration and by a request count; every request by -timeout. A run in
// which no request completes for -stall is reported as STALL and aborted. The result is a
// markdown table on stdout (and in -o FILE). See docs/performance.md.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // sqlite_version() for the report header
)

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

type options struct {
	dialects     []string
	ops          []string
	concurrency  []int
	duration     time.Duration
	codes        int
	maxRequests  int64
	timeout      time.Duration
	stall        time.Duration
	pgDSN        string
	out          string
	cpuProfile   string
	providerLogs bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	dialects := fs.String("dialects", "sqlite,postgres", "comma-separated: sqlite, postgres")
	ops := fs.String("ops", "exchange,refresh", "comma-separated: exchange, refresh")
	conc := fs.String("c", "16,64", "comma-separated concurrency levels")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured run")
	fs.IntVar(&o.codes, "codes", 6000, "codes minted per exchange run (its count bound)")
	fs.Int64Var(&o.maxRequests, "max-requests", 200000, "count bound of each refresh run")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of every request")
	fs.DurationVar(&o.stall, "stall", 5*time.Second, "no completed request for this long → STALL")
	pg := os.Getenv("SVA_BENCH_POSTGRES_DSN")
	if pg == "" {
		pg = defaultPostgresDSN
	}
	fs.StringVar(&o.pgDSN, "pg-dsn", pg, "PostgreSQL server; a database sva_bench_N (or, failing that, a schema) is created and dropped (env SVA_BENCH_POSTGRES_DSN)")
	fs.StringVar(&o.out, "o", "", "also write the report to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each measured run to PREFIX-<dialect>-<op>-<c>.pprof (server and driver share the process)")
	fs.BoolVar(&o.providerLogs, "provider-logs", false, "show the provider's log on stderr (default: only warnings and errors)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.dialects = splitList(*dialects)
	o.ops = splitList(*ops)
	for _, s := range splitList(*conc) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return o, fmt.Errorf("-c: %q is not a positive integer", s)
		}
		o.concurrency = append(o.concurrency, n)
	}
	for _, d := range o.dialects {
		if d != "sqlite" && d != "postgres" {
			return o, fmt.Errorf("-dialects: unknown %q", d)
		}
	}
	for _, op := range o.ops {
		if op != "exchange" && op != "refresh" {
			return o, fmt.Errorf("-ops: unknown %q", op)
		}
	}
	if o.duration <= 0 || o.timeout <= 0 || o.codes < 1 || o.maxRequests < 1 {
		return o, errors.New("-duration, -timeout, -codes and -max-requests must be positive")
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	var header strings.Builder
	fmt.Fprintf(&header, "Machine: %d CPUs (GOMAXPROCS %d), %s; %s %s/%s; SQLite %s",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, sqliteVersion())

	var results []Result
	for _, dialect := range o.dialects {
		rs, pgVersion, err := benchDialect(ctx, o, dialect, logf, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", dialect, err)
		}
		if pgVersion != "" {
			fmt.Fprintf(&header, "; PostgreSQL %s", pgVersion)
		}
		results = append(results, rs...)
	}
	fmt.Fprintf(&header, ".\nEach run: %s closed loop (or its count bound), request timeout %s, stall after %s. Latencies are of successful requests.\n\n",
		o.duration, o.timeout, o.stall)

	var report strings.Builder
	report.WriteString(header.String())
	if err := WriteTable(&report, results); err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, report.String()); err != nil {
		return err
	}
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report.String()), 0o644); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.Errors() > 0 || r.Stalled {
			return errors.New("some runs had errors or stalled (see the table)")
		}
	}
	return nil
}

// benchDialect runs every operation and concurrency level on one freshly started provider.
func benchDialect(ctx context.Context, o options, dialect string, logf func(string, ...any), stderr io.Writer) ([]Result, string, error) {
	var (
		databaseURL, pgVersion string
		results                []Result
	)
	skipped := func(why string) []Result {
		var rs []Result
		for _, op := range o.ops {
			for _, c := range o.concurrency {
				rs = append(rs, Result{Dialect: dialect, Operation: op, Concurrency: c, Skipped: why})
			}
		}
		return rs
	}
	if dialect == "postgres" {
		dsn, dbName, drop, err := pgDatabase(ctx, o.pgDSN)
		if err != nil {
			logf("SKIPPING PostgreSQL: %v", err)
			return skipped("PostgreSQL unreachable"), "", nil
		}
		defer func() {
			if err := drop(); err != nil {
				logf("dropping the bench schema: %v", err)
			}
		}()
		databaseURL, pgVersion = dsn, serverVersion(ctx, dsn)
		benchDatabase = dbName // its backends' CPU is added to CPU ms/req
		defer func() { benchDatabase = "" }()
	}
	dataDir, err := os.MkdirTemp("", "sva-bench-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dataDir)

	var logw io.Writer = &syncWriter{w: stderr}
	if !o.providerLogs {
		logw = &levelFilter{w: logw}
	}
	logf("%s: starting the provider", dialect)
	p, err := startProvider(ctx, databaseURL, dataDir, logw)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		if err := p.Close(); err != nil {
			logf("%s: provider shutdown: %v", dialect, err)
		}
	}()

	cfg := func(c int) RunConfig {
		return RunConfig{Concurrency: c, Duration: o.duration, RequestTimeout: o.timeout, StallAfter: o.stall}
	}
	for _, op := range o.ops {
		for _, c := range o.concurrency {
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			var r Result
			switch op {
			case "exchange":
				r, err = benchExchange(ctx, p, cfg(c), o, dialect, logf)
			case "refresh":
				r, err = benchRefresh(ctx, p, cfg(c), o, dialect, logf)
			}
			if err != nil {
				return nil, "", err
			}
			r.Dialect, r.Operation = dialect, op
			logf("%s %s c=%d: %.0f req/s, p50 %s ms, p99 %s ms, %d errors, %s-bound; CPU %.1f s provider+driver, %.1f s PostgreSQL backends",
				dialect, op, c, r.Rate(), ms(r.P50), ms(r.P99), r.Errors(), r.Bound, r.OwnCPUTime.Seconds(), r.DBCPUTime.Seconds())
			results = append(results, r)
		}
	}
	return results, pgVersion, nil
}

// profiled runs f under a CPU profile when -cpuprofile is set.
func profiled(o options, name string, f func() Result) (Result, error) {
	if o.cpuProfile == "" {
		return f(), nil
	}
	file, err := os.Create(o.cpuProfile + "-" + name + ".pprof")
	if err != nil {
		return Result{}, err
	}
	defer file.Close()
	if err := pprof.StartCPUProfile(file); err != nil {
		return Result{}, err
	}
	r := f()
	pprof.StopCPUProfile()
	return r, nil
}

func benchExchange(ctx context.Context, p *provider, cfg RunConfig, o options, dialect string, logf func(string, ...any)) (Result, error) {
	t0 := time.Now()
	codes, err := p.mintCodes(ctx, o.codes, 16)
	if err != nil {
		return Result{}, err
	}
	logf("%s exchange c=%d: minted %d codes in %.1f s (warm-up, not measured)", dialect, cfg.Concurrency, len(codes), time.Since(t0).Seconds())
	tc := newTokenClient(p, cfg.Concurrency)
	defer tc.close()
	cfg.MaxRequests = int64(len(codes))
	return profiled(o, fmt.Sprintf("%s-exchange-%d", dialect, cfg.Concurrency), func() Result {
		return Run(ctx, cfg, func(ctx context.Context, _ int, seq int64) (Outcome, string, error) {
			out, desc, _ := tc.exchange(ctx, codes[seq])
			return out, desc, nil
		})
	})
}

func benchRefresh(ctx context.Context, p *provider, cfg RunConfig, o options, dialect string, logf func(string, ...any)) (Result, error) {
	codes, err := p.mintCodes(ctx, cfg.Concurrency, min(cfg.Concurrency, 16))
	if err != nil {
		return Result{}, err
	}
	tc := newTokenClient(p, cfg.Concurrency)
	defer tc.close()
	chains := make([]string, cfg.Concurrency)
	for i, c := range codes {
		out, desc, tr := tc.exchange(ctx, c)
		if out != OK {
			return Result{}, fmt.Errorf("refresh warm-up: exchange: %s", desc)
		}
		chains[i] = tr.RefreshToken
	}
	logf("%s refresh c=%d: %d refresh-token chains ready", dialect, cfg.Concurrency, len(chains))
	cfg.MaxRequests = o.maxRequests
	return profiled(o, fmt.Sprintf("%s-refresh-%d", dialect, cfg.Concurrency), func() Result {
		return Run(ctx, cfg, func(ctx context.Context, w int, _ int64) (Outcome, string, error) {
			out, desc, tr := tc.refresh(ctx, chains[w])
			if out != OK {
				// The chain is broken (rejected) or in doubt (no answer): retire the worker.
				return out, desc, errWorkerDone
			}
			chains[w] = tr.RefreshToken
			return OK, "", nil
		})
	})
}

// levelFilter passes only the provider's WARN and ERROR log lines (text or JSON format).
type levelFilter struct{ w io.Writer }

func (f *levelFilter) Write(p []byte) (int, error) {
	s := string(p)
	for _, lvl := range []slog.Level{slog.LevelWarn, slog.LevelError} {
		if strings.Contains(s, "level="+lvl.String()) || strings.Contains(s, `"level":"`+lvl.String()+`"`) {
			if _, err := f.w.Write(p); err != nil {
				return 0, err
			}
			break
		}
	}
	return len(p), nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func sqliteVersion() string {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return "?"
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("select sqlite_version()").Scan(&v); err != nil {
		return "?"
	}
	return v
}
