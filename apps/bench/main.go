// Command bench is SVA's load driver (`make bench`; docs/performance.md). It is not a timed test.
//
// For each database (SQLite, PostgreSQL; the list is data in databases.go) it starts the REAL
// provider, Core and consent-server processes (this binary re-executed as `bench service …`, as
// the sva launcher does) on random loopback ports and a fresh database, plays the browser and
// the relying app, and measures closed-loop scenarios at each concurrency:
//
//   - signin: a complete sign-in through Core's API — authorize → the consent screen's calls to
//     Core (request details, attest, complete; Core calls the provider) → token exchange, every
//     answer validated (state, iss, the ES256 ID token and data token against their JWKS);
//   - signin-consent: the same through the consent UI's server (page load and its /ui/api calls);
//   - exchange, refresh, introspect: the token endpoint's code exchange (codes minted before the
//     run), refresh-token rotation (an ID token signed on each) and RFC 7662 introspection.
//
// Per scenario it prints operations/s, p50/p99, errors, and per operation: the HTTP requests
// (the driver's, and service-to-service as the services count them), the SQL statements and
// transactions each service sent (counted at the database driver, exported as the
// sva.db.statements metric), the CPU time of each process (provider, Core, consent server,
// the database's server processes, the driver) and each service's peak resident memory. The
// services export their metrics to an OTLP receiver inside the bench (otlp.go).
//
// -soak D runs the sign-in for D (e.g. 10m) on one database and prints throughput and database
// size per minute.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	// The bench only creates and drops databases through this one, so any existing database will do.
	defaultMySQLDSN = "mysql://root@127.0.0.1:3306/mysql"
)

type options struct {
	dbs         []string
	scenarios   []string
	concurrency []int
	duration    time.Duration
	warmup      time.Duration
	codes       int
	timeout     time.Duration
	stall       time.Duration
	pgDSN       string
	mysqlDSN    string
	out         string
	verify      bool
	soak        time.Duration
	soakDB      string
	soakC       int
	keepLogs    bool
	cpuProfile  string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 2 && os.Args[1] == serviceCommand {
		err = runService(ctx, os.Args[2:])
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	dbs := fs.String("dbs", "sqlite,postgres", "comma-separated databases: "+databaseList())
	scen := fs.String("scenarios", strings.Join(scenarioNames(), ","), "comma-separated scenarios")
	conc := fs.String("c", "16,64", "comma-separated concurrency levels")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured run")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured sign-ins after start-up, per database")
	fs.IntVar(&o.codes, "codes", 5000, "codes minted before each exchange run (its count bound)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of every operation")
	fs.DurationVar(&o.stall, "stall", 5*time.Second, "no completed operation for this long → STALL")
	pg := os.Getenv("SVA_BENCH_POSTGRES_DSN")
	if pg == "" {
		pg = defaultPostgresDSN
	}
	fs.StringVar(&o.pgDSN, "pg-dsn", pg, "PostgreSQL server; a database sva_bench_N is created and dropped (env SVA_BENCH_POSTGRES_DSN)")
	my := os.Getenv("SVA_BENCH_MYSQL_DSN")
	if my == "" {
		my = defaultMySQLDSN
	}
	fs.StringVar(&o.mysqlDSN, "mysql-dsn", my, "MariaDB/MySQL server; a database sva_bench_N is created and dropped (env SVA_BENCH_MYSQL_DSN)")
	fs.StringVar(&o.out, "o", "", "also write the report to this file")
	fs.BoolVar(&o.verify, "verify", true, "validate the ID token and data token signatures and claims of every sign-in")
	fs.DurationVar(&o.soak, "soak", 0, "instead of the scenarios: run the sign-in for this long (e.g. 10m), report per minute")
	fs.StringVar(&o.soakDB, "soak-db", "sqlite", "database of the soak run")
	fs.IntVar(&o.soakC, "soak-c", 16, "concurrency of the soak run")
	fs.BoolVar(&o.keepLogs, "keep-logs", false, "keep the services' data directories and logs (paths printed)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each service's whole run to DIR/<database>/<service>.pprof")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.dbs, o.scenarios = splitList(*dbs), splitList(*scen)
	for _, s := range splitList(*conc) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return o, fmt.Errorf("-c: %q is not a positive integer", s)
		}
		o.concurrency = append(o.concurrency, n)
	}
	for _, d := range append(o.dbs, o.soakDB) {
		if _, ok := databaseNamed(d); !ok {
			return o, fmt.Errorf("unknown database %q (have %s)", d, databaseList())
		}
	}
	for _, s := range o.scenarios {
		if _, ok := scenarioNamed(s); !ok {
			return o, fmt.Errorf("-scenarios: unknown %q (have %s)", s, strings.Join(scenarioNames(), ", "))
		}
	}
	if o.duration <= 0 || o.timeout <= 0 || o.codes < 1 || o.soakC < 1 || o.soak < 0 {
		return o, errors.New("-duration, -timeout, -codes and -soak-c must be positive")
	}
	return o, nil
}

func databaseList() string {
	var n []string
	for _, d := range databases {
		n = append(n, d.Name)
	}
	return strings.Join(n, ", ")
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
	otlp, err := newOTLPReceiver()
	if err != nil {
		return err
	}
	defer otlp.Close()

	var report strings.Builder
	fmt.Fprintf(&report, "Machine: %d CPUs, %s; %s %s/%s; load average at start %s.\n",
		runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage())
	if o.soak > 0 {
		if err := soak(ctx, o, otlp, &report, logf); err != nil {
			return err
		}
	} else {
		var all []row
		for _, name := range o.dbs {
			rows, err := benchDatabase(ctx, o, name, otlp, &report, logf)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			all = append(all, rows...)
		}
		writeRows(&report, all)
		defer func() {
			for _, r := range all {
				if r.Errors() > 0 || r.Stalled {
					err = errors.Join(err, errors.New("some runs had errors or stalled (see the table)"))
					return
				}
			}
		}()
	}
	if _, err := io.WriteString(stdout, report.String()); err != nil {
		return err
	}
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// withStack opens a fresh database, starts the services on it and calls f.
func withStack(ctx context.Context, o options, dbName string, otlp *otlpReceiver, logf func(string, ...any), f func(*dbInstance, *stack) error) error {
	db, _ := databaseNamed(dbName)
	dir, err := os.MkdirTemp("", "sva-bench-"+dbName+"-")
	if err != nil {
		return err
	}
	if o.keepLogs {
		logf("%s: data and logs in %s", dbName, dir)
	} else {
		defer os.RemoveAll(dir)
	}
	inst, err := db.open(ctx, o, dir)
	if err != nil {
		return err
	}
	defer func() {
		if err := inst.Close(); err != nil {
			logf("%s: dropping the bench database: %v", dbName, err)
		}
	}()
	logf("%s (%s): starting provider, Core and consent server", dbName, inst.Version)
	profiles := ""
	if o.cpuProfile != "" {
		profiles = filepath.Join(o.cpuProfile, dbName)
		if err := os.MkdirAll(profiles, 0o755); err != nil {
			return err
		}
		logf("%s: CPU profiles in %s", dbName, profiles)
	}
	st, err := startStack(ctx, dir, inst.URL, otlp, profiles)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			logf("%s: stopping the services: %v", dbName, err)
		}
	}()
	return f(inst, st)
}

// benchDatabase runs every scenario at every concurrency on one freshly started stack.
func benchDatabase(ctx context.Context, o options, dbName string, otlp *otlpReceiver, report *strings.Builder, logf func(string, ...any)) ([]row, error) {
	var rows []row
	err := withStack(ctx, o, dbName, otlp, logf, func(inst *dbInstance, st *stack) error {
		fmt.Fprintf(report, "%s: %s.\n", dbName, inst.Version)
		d, err := newDriver(ctx, st, o.verify)
		if err != nil {
			return err
		}
		m := &meter{st: st, db: inst, d: d, otlp: otlp}
		// Every account up front, before anything is measured.
		maxC := max(16, slices.Max(o.concurrency))
		if _, err := d.accounts(ctx, maxC, false); err != nil {
			return err
		}
		if slices.Contains(o.scenarios, "signin-consent") {
			if _, err := d.accounts(ctx, maxC, true); err != nil {
				return err
			}
		}
		if err := warmUp(ctx, d, o); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		for _, name := range o.scenarios {
			sc, _ := scenarioNamed(name)
			for _, c := range o.concurrency {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				job, maxOps, err := sc.prepare(ctx, d, c, o)
				if err != nil {
					return fmt.Errorf("%s c=%d: preparing: %w", name, c, err)
				}
				r, err := m.measure(ctx, RunConfig{Concurrency: c, Duration: o.duration, MaxRequests: maxOps,
					RequestTimeout: o.timeout, StallAfter: o.stall}, job)
				if err != nil {
					return fmt.Errorf("%s c=%d: %w", name, c, err)
				}
				r.DB, r.Scenario, r.Unit = dbName, name, sc.unit
				logf("%s", r.summary())
				rows = append(rows, r)
				if err := st.alive(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return rows, err
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

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
