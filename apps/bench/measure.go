package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Metric names the services export (otelhttp's HTTP semantic conventions; adapters/sqldb).
const (
	metricServerRequests = "http.server.request.duration" // histogram: one count per request served
	metricClientRequests = "http.client.request.duration" // histogram: one count per request sent
	metricStatements     = "sva.db.statements"            // counter by sva.db.statement kind
)

// sqlCounts are one service's statements during a run.
type sqlCounts struct{ statements, begins int64 }

// row is one measured run with everything the report prints.
type row struct {
	DB, Scenario, Unit string
	Result
	CPU      map[string]time.Duration // provider, core, consent, database, driver
	RSS      map[string]int64         // peak resident bytes per service during the run
	Browser  int64                    // requests the driver sent
	Served   map[string]int64         // requests each service served
	Sent     map[string]int64         // requests each service sent (service to service)
	SQL      map[string]sqlCounts     // per service
	HostBusy float64                  // share of the machine busy during the run (every process), -1 unknown
}

// meter measures runs against one stack.
type meter struct {
	st   *stack
	db   *dbInstance
	d    *driver
	otlp *otlpReceiver
}

func (m *meter) services() []string {
	var out []string
	for _, p := range []string{procProvider, procCore, procConsent} {
		out = append(out, serviceNames[p])
	}
	return out
}

// cpuNow samples the CPU time of every process involved.
func (m *meter) cpuNow() map[string]time.Duration {
	out := map[string]time.Duration{"driver": selfCPU()}
	for name, p := range m.st.procs {
		out[name] = pidCPU(p.pid())
	}
	if m.db.CPU != nil {
		out["database"] = m.db.CPU()
	}
	return out
}

// measure runs job under cfg and measures it: the services' counters before and after (each
// read from an export taken after the load stopped, so every count the load caused is in),
// the CPU of every process, the peak RSS of every service (sampled every 100 ms).
func (m *meter) measure(ctx context.Context, cfg RunConfig, job Job) (row, error) {
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	before, err := m.otlp.Snapshot(sctx, time.Now(), m.services()...)
	if err != nil {
		return row{}, err
	}
	browser0, cpu0 := m.d.requests.Load(), m.cpuNow()
	busy0, total0 := hostCPU()

	rss := map[string]int64{}
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			mu.Lock()
			for name, p := range m.st.procs {
				rss[name] = max(rss[name], pidRSS(p.pid()))
			}
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	res := Run(ctx, cfg, job)
	close(stop)
	wg.Wait()
	cpu1, browser1 := m.cpuNow(), m.d.requests.Load()
	busy1, total1 := hostCPU()
	sctx2, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	after, err := m.otlp.Snapshot(sctx2, time.Now(), m.services()...)
	if err != nil {
		return row{}, err
	}

	r := row{Result: res, CPU: map[string]time.Duration{}, RSS: rss, Browser: browser1 - browser0,
		Served: map[string]int64{}, Sent: map[string]int64{}, SQL: map[string]sqlCounts{}, HostBusy: -1}
	for k, v := range cpu1 {
		r.CPU[k] = v - cpu0[k]
	}
	if total1 > total0 && total0 > 0 {
		r.HostBusy = float64(busy1-busy0) / float64(total1-total0)
	}
	for proc, svc := range serviceNames {
		delta := func(name string, match ...string) int64 {
			return after.Sum(svc, name, match...) - before.Sum(svc, name, match...)
		}
		r.Served[proc] = delta(metricServerRequests)
		r.Sent[proc] = delta(metricClientRequests)
		var sc sqlCounts
		for _, kind := range []string{"query", "exec", "begin", "commit", "rollback"} {
			sc.statements += delta(metricStatements, "sva.db.statement="+kind)
		}
		sc.begins = delta(metricStatements, "sva.db.statement=begin")
		r.SQL[proc] = sc
	}
	return r, nil
}

// per divides a count by the successful operations.
func (r row) per(n int64) float64 {
	if r.OK == 0 {
		return 0
	}
	return float64(n) / float64(r.OK)
}

func (r row) perMS(d time.Duration) float64 {
	if r.OK == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(r.OK)
}

func (r row) sum(m map[string]int64) int64 {
	var t int64
	for _, v := range m {
		t += v
	}
	return t
}

// httpCell: "browser + service-to-service = total".
func (r row) httpCell() string {
	s2s := r.sum(r.Sent)
	return fmt.Sprintf("%.1f + %.1f = %.1f", r.per(r.Browser), r.per(s2s), r.per(r.Browser+s2s))
}

// sqlCell: "provider + Core = total (transactions)".
func (r row) sqlCell() string {
	p, c := r.SQL[procProvider], r.SQL[procCore]
	return fmt.Sprintf("%.1f + %.1f = %.1f (%.1f tx)", r.per(p.statements), r.per(c.statements), r.per(p.statements+c.statements), r.per(p.begins+c.begins))
}

func (r row) cpuCell() string {
	var parts []string
	for _, k := range []string{procProvider, procCore, procConsent, "database", "driver"} {
		if d, ok := r.CPU[k]; ok {
			parts = append(parts, fmt.Sprintf("%.2f", r.perMS(d)))
		} else {
			parts = append(parts, "–")
		}
	}
	return strings.Join(parts, " · ")
}

func (r row) rssCell() string {
	var parts []string
	for _, k := range []string{procProvider, procCore, procConsent} {
		parts = append(parts, fmt.Sprintf("%.0f", float64(r.RSS[k])/(1<<20)))
	}
	return strings.Join(parts, " · ")
}

func (r row) errCell() string {
	if r.Errors() == 0 {
		return "0"
	}
	return fmt.Sprintf("**%d** (%d non-2xx, %d transport)", r.Errors(), r.BadStatus, r.Transport)
}

func (r row) runCell() string {
	if r.Stalled {
		return fmt.Sprintf("**STALL** at %.1f s (%d in flight aborted)", r.StallAt.Seconds(), r.Aborted)
	}
	busy := "?"
	if r.HostBusy >= 0 {
		busy = fmt.Sprintf("%.0f%%", 100*r.HostBusy)
	}
	return fmt.Sprintf("%.1f s %s-bound, host %s busy", r.Elapsed.Seconds(), r.Bound, busy)
}

func (r row) summary() string {
	return fmt.Sprintf("%s %s c=%d: %.0f %ss/s, p50 %s ms, p99 %s ms, %d errors; HTTP/op %s; SQL/op %s; CPU ms/op %s; RSS MB %s",
		r.DB, r.Scenario, r.Concurrency, r.Rate(), r.Unit, ms(r.P50), ms(r.P99), r.Errors(), r.httpCell(), r.sqlCell(), r.cpuCell(), r.rssCell())
}

// writeRows prints the results as one markdown table.
func writeRows(b *strings.Builder, rows []row) {
	b.WriteString("\n| database | scenario | c | per s | p50 ms | p99 ms | errors | HTTP requests per op: driver + service-to-service = total | SQL statements per op: provider + Core = total (transactions) | CPU ms per op: provider · Core · consent · database · driver | peak RSS MB: provider · Core · consent | run |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.DB, r.Scenario, r.Concurrency, r.Rate(),
			ms(r.P50), ms(r.P99), r.errCell(), r.httpCell(), r.sqlCell(), r.cpuCell(), r.rssCell(), r.runCell())
	}
	var notes []string
	for _, r := range rows {
		for _, s := range r.Samples {
			notes = append(notes, fmt.Sprintf("- %s %s c=%d: %s", r.DB, r.Scenario, r.Concurrency, s))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nError samples:\n" + strings.Join(notes, "\n") + "\n")
	}
}
