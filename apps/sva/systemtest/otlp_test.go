package systemtest

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an in-process OTLP/HTTP collector: it accepts the protobuf exports of every
// service at /v1/traces and /v1/metrics and keeps them for the test to inspect.
type otlpReceiver struct {
	URL string

	mu      sync.Mutex
	spans   []otlpSpan
	points  []otlpPoint
	exports int
}

// otlpSpan is one exported span, flattened with its resource.
type otlpSpan struct {
	Service, Instance string
	Name              string
	Kind              tracepb.Span_SpanKind
	TraceID, SpanID   string
	ParentID          string
	Attrs             map[string]string
	Resource          map[string]string
	// Strings is every string the span carries (name, attribute values, events, status, resource).
	Strings []string
}

// otlpPoint is one exported number data point (sums and gauges), or a histogram's count.
type otlpPoint struct {
	Service, Instance string
	Metric            string
	Attrs             map[string]string
	Value             float64
	Strings           []string // metric name, attribute keys and values
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *otlpReceiver) serve(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var resp proto.Message
	switch req.URL.Path {
	case "/v1/traces":
		var in coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.addTraces(&in)
		resp = &coltracepb.ExportTraceServiceResponse{}
	case "/v1/metrics":
		var in colmetricpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(raw, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.addMetrics(&in)
		resp = &colmetricpb.ExportMetricsServiceResponse{}
	default:
		http.NotFound(w, req)
		return
	}
	out, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// anyString renders an attribute value; strs collects every string inside it.
func anyString(v *commonpb.AnyValue, strs *[]string) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		*strs = append(*strs, x.StringValue)
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_BytesValue:
		*strs = append(*strs, string(x.BytesValue))
		return string(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		s := "["
		for _, e := range x.ArrayValue.GetValues() {
			s += anyString(e, strs) + " "
		}
		return s + "]"
	case *commonpb.AnyValue_KvlistValue:
		s := "{"
		for _, kv := range x.KvlistValue.GetValues() {
			*strs = append(*strs, kv.GetKey())
			s += kv.GetKey() + "=" + anyString(kv.GetValue(), strs) + " "
		}
		return s + "}"
	}
	return ""
}

func attrMap(kvs []*commonpb.KeyValue, strs *[]string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		*strs = append(*strs, kv.GetKey())
		m[kv.GetKey()] = anyString(kv.GetValue(), strs)
	}
	return m
}

func (r *otlpReceiver) addTraces(in *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exports++
	for _, rs := range in.GetResourceSpans() {
		var resStrs []string
		res := attrMap(rs.GetResource().GetAttributes(), &resStrs)
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				strs := append([]string{sp.GetName(), sp.GetStatus().GetMessage()}, resStrs...)
				attrs := attrMap(sp.GetAttributes(), &strs)
				for _, ev := range sp.GetEvents() {
					strs = append(strs, ev.GetName())
					attrMap(ev.GetAttributes(), &strs)
				}
				for _, l := range sp.GetLinks() {
					attrMap(l.GetAttributes(), &strs)
				}
				r.spans = append(r.spans, otlpSpan{
					Service: res["service.name"], Instance: res["service.instance.id"], Name: sp.GetName(), Kind: sp.GetKind(),
					TraceID: hex.EncodeToString(sp.GetTraceId()), SpanID: hex.EncodeToString(sp.GetSpanId()),
					ParentID: hex.EncodeToString(sp.GetParentSpanId()), Attrs: attrs, Resource: res, Strings: strs,
				})
			}
		}
	}
}

func (r *otlpReceiver) addMetrics(in *colmetricpb.ExportMetricsServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exports++
	for _, rm := range in.GetResourceMetrics() {
		var resStrs []string
		res := attrMap(rm.GetResource().GetAttributes(), &resStrs)
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				add := func(kvs []*commonpb.KeyValue, v float64) {
					strs := append([]string{m.GetName()}, resStrs...)
					r.points = append(r.points, otlpPoint{Service: res["service.name"], Instance: res["service.instance.id"],
						Metric: m.GetName(), Attrs: attrMap(kvs, &strs), Value: v, Strings: strs})
				}
				switch d := m.GetData().(type) {
				case *metricpb.Metric_Sum:
					for _, dp := range d.Sum.GetDataPoints() {
						add(dp.GetAttributes(), numberValue(dp))
					}
				case *metricpb.Metric_Gauge:
					for _, dp := range d.Gauge.GetDataPoints() {
						add(dp.GetAttributes(), numberValue(dp))
					}
				case *metricpb.Metric_Histogram:
					for _, dp := range d.Histogram.GetDataPoints() {
						add(dp.GetAttributes(), float64(dp.GetCount()))
					}
				}
			}
		}
	}
}

func numberValue(dp *metricpb.NumberDataPoint) float64 {
	switch v := dp.GetValue().(type) {
	case *metricpb.NumberDataPoint_AsInt:
		return float64(v.AsInt)
	case *metricpb.NumberDataPoint_AsDouble:
		return v.AsDouble
	}
	return 0
}

// Spans returns every span received so far.
func (r *otlpReceiver) Spans() []otlpSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]otlpSpan(nil), r.spans...)
}

// Points returns every data point received so far.
func (r *otlpReceiver) Points() []otlpPoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]otlpPoint(nil), r.points...)
}

// Latest returns the last exported value of each series of metric for service (all instances
// summed; cumulative temporality, so the last export holds the totals), keyed by the rendering
// of the chosen attributes. Series still at 0 (the counters' initial series) are left out.
func (r *otlpReceiver) Latest(service, metric string, keys ...string) map[string]float64 {
	last := map[string]otlpPoint{}
	for _, p := range r.Points() {
		if p.Service != service || p.Metric != metric {
			continue
		}
		last[p.Instance+" "+fmt.Sprint(p.Attrs)] = p
	}
	out := map[string]float64{}
	for _, p := range last {
		if p.Value == 0 {
			continue
		}
		label := ""
		for i, k := range keys {
			if i > 0 {
				label += ","
			}
			label += k + "=" + p.Attrs[k]
		}
		out[label] += p.Value
	}
	return out
}
