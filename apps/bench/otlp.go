package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	collmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP metrics endpoint (protobuf) that keeps, per service, the latest
// cumulative value of every counter and the latest count of every histogram. The services under
// test export to it (OTEL_EXPORTER_OTLP_ENDPOINT), so the bench reads the numbers the services
// count themselves — HTTP requests served and sent, SQL statements — instead of guessing them.
type otlpReceiver struct {
	URL string
	srv *http.Server

	mu      sync.Mutex
	cond    *sync.Cond
	series  map[string]map[string]int64 // service.name → series key → value
	lastAt  map[string]time.Time        // service.name → time of its latest export
	exports int
	errs    []string
}

func newOTLPReceiver() (*otlpReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &otlpReceiver{URL: "http://" + ln.Addr().String(), series: map[string]map[string]int64{}, lastAt: map[string]time.Time{}}
	r.cond = sync.NewCond(&r.mu)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/metrics", r.metrics)
	// Traces and logs are not sampled by the services under test (OTEL_TRACES_SAMPLER=always_off),
	// but an exporter that tries must not see errors.
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	})
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *otlpReceiver) Close() { _ = r.srv.Close() }

func (r *otlpReceiver) metrics(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = io.LimitReader(req.Body, 32<<20)
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer gz.Close()
		body = gz
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg collmetrics.ExportMetricsServiceRequest
	if err := proto.Unmarshal(raw, &msg); err != nil {
		r.mu.Lock()
		r.errs = append(r.errs, err.Error())
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.record(&msg)
	out, _ := proto.Marshal(&collmetrics.ExportMetricsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// record stores the data points of one export. Values are cumulative (the SDK's default
// temporality), so the latest one wins; a series exported by several scopes is summed.
func (r *otlpReceiver) record(msg *collmetrics.ExportMetricsServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rm := range msg.GetResourceMetrics() {
		service := attrString(rm.GetResource().GetAttributes(), "service.name")
		latest := map[string]int64{}
		var at uint64
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				switch d := m.GetData().(type) {
				case *metricspb.Metric_Sum:
					for _, p := range d.Sum.GetDataPoints() {
						v := p.GetAsInt()
						if _, ok := p.GetValue().(*metricspb.NumberDataPoint_AsDouble); ok {
							v = int64(p.GetAsDouble())
						}
						latest[seriesKey(m.GetName(), p.GetAttributes())] += v
						at = max(at, p.GetTimeUnixNano())
					}
				case *metricspb.Metric_Histogram:
					for _, p := range d.Histogram.GetDataPoints() {
						latest[seriesKey(m.GetName(), p.GetAttributes())] += int64(p.GetCount())
						at = max(at, p.GetTimeUnixNano())
					}
				}
			}
		}
		if r.series[service] == nil {
			r.series[service] = map[string]int64{}
		}
		for k, v := range latest {
			r.series[service][k] = v
		}
		t := time.Unix(0, int64(at))
		if at == 0 {
			t = time.Now()
		}
		if t.After(r.lastAt[service]) {
			r.lastAt[service] = t
		}
	}
	r.exports++
	r.cond.Broadcast()
}

// seriesKey is "name{k=v,…}" with the attributes sorted.
func seriesKey(name string, attrs []*commonpb.KeyValue) string {
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		parts = append(parts, a.GetKey()+"="+anyString(a.GetValue()))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	}
	return ""
}

func attrString(attrs []*commonpb.KeyValue, key string) string {
	for _, a := range attrs {
		if a.GetKey() == key {
			return anyString(a.GetValue())
		}
	}
	return ""
}

// metricSnapshot is every service's series at one moment.
type metricSnapshot map[string]map[string]int64

// Snapshot waits until every service in services has exported data taken after `after`, then
// returns a copy of all series. Called once the load has stopped, it sees every count the load
// caused.
func (r *otlpReceiver) Snapshot(ctx context.Context, after time.Time, services ...string) (metricSnapshot, error) {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		fresh := true
		for _, s := range services {
			if !r.lastAt[s].After(after) {
				fresh = false
			}
		}
		if fresh {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no metrics export after %s from all of %v (have %v; parse errors %v)",
				after.Format(time.RFC3339Nano), services, r.lastAt, r.errs)
		}
		r.cond.Wait()
	}
	out := metricSnapshot{}
	for s, m := range r.series {
		c := make(map[string]int64, len(m))
		for k, v := range m {
			c[k] = v
		}
		out[s] = c
	}
	return out, nil
}

// Sum adds up every series of service whose metric is name and whose attributes include all
// of match ("k=v").
func (m metricSnapshot) Sum(service, name string, match ...string) int64 {
	var total int64
	for k, v := range m[service] {
		if !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, want := range match {
			attrs := k[len(name)+1 : len(k)-1]
			if !containsAttr(attrs, want) {
				ok = false
				break
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

func containsAttr(attrs, want string) bool {
	for _, a := range strings.Split(attrs, ",") {
		if a == want {
			return true
		}
	}
	return false
}
