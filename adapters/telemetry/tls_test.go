package telemetry_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/adapters/tlstest"
)

// TestServeMetrics_TLS: with METRICS_TLS_CERT_FILE the scrape listener serves HTTPS (HTTP/2) and
// nothing in plain HTTP; a scrape listener beyond loopback without a certificate refuses to start
// unless SVA_BEHIND_TLS_PROXY=true (issue 14).
func TestServeMetrics_TLS(t *testing.T) {
	pki := tlstest.New(t, "metrics test CA")
	cert, key, _ := pki.Server("metrics")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc", Getenv: envOf(map[string]string{
		telemetry.EnvMetricsAddr: addr, telemetry.EnvMetricsTLSCert: cert, telemetry.EnvMetricsTLSKey: key})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Stop()
	stop, err := tel.ServeMetrics(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := pki.HTTPClient("", "").Get("https://" + addr + telemetry.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Proto != "HTTP/2.0" || !strings.Contains(string(body), "target_info") {
		t.Errorf("GET /metrics over HTTPS: %s %s, %d bytes", res.Proto, res.Status, len(body))
	}
	if res, err := http.Get("http://" + addr + telemetry.MetricsPath); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Error("the HTTPS scrape listener answered plain HTTP")
		}
	}

	for name, vars := range map[string]map[string]string{
		"plain beyond loopback":   {telemetry.EnvMetricsAddr: "0.0.0.0:9464"},
		"certificate without key": {telemetry.EnvMetricsAddr: "127.0.0.1:9464", telemetry.EnvMetricsTLSCert: cert},
	} {
		if tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc", Getenv: envOf(vars)}, nil); err == nil {
			tel.Stop()
			t.Errorf("%s: Start succeeded", name)
		}
	}
	proxied, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc", Getenv: envOf(map[string]string{
		telemetry.EnvMetricsAddr: "0.0.0.0:9464", "SVA_BEHIND_TLS_PROXY": "true"})}, nil)
	if err != nil {
		t.Errorf("plain beyond loopback behind a TLS proxy: %v", err)
	} else {
		proxied.Stop()
	}
}

// TestOTLPExporter_TrustsTheStandardCertificateVariable: the OTLP exporters reach a collector
// serving HTTPS with a private CA's certificate when the standard OTEL_EXPORTER_OTLP_CERTIFICATE
// names that CA (docs/observability.md), and no export reaches it without (system roots only);
// the variable with a plain-HTTP endpoint stops the start.
func TestOTLPExporter_TrustsTheStandardCertificateVariable(t *testing.T) {
	pki := tlstest.New(t, "collector CA")
	for _, tt := range []struct {
		name    string
		caFile  string
		reached bool
	}{{"certificate variable set", pki.CAFile(), true}, {"system roots only", "", false}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", tt.caFile) // the SDK reads the process environment
			var mu sync.Mutex
			var paths []string
			collector := pki.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.Method+" "+r.URL.Path)
				mu.Unlock()
			}), "")
			tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc", ShutdownTimeout: 2 * time.Second,
				Getenv: envOf(map[string]string{telemetry.EnvOTLPEndpoint: collector})}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, span := tel.Tracer("test").Start(context.Background(), "exported")
			span.End()
			tel.Stop() // flushes the span and the metrics
			mu.Lock()
			defer mu.Unlock()
			if got := slices.Contains(paths, "POST /v1/traces"); got != tt.reached {
				t.Errorf("collector received %v; want the trace export: %v", paths, tt.reached)
			}
		})
	}
	t.Run("plain endpoint with the variable", func(t *testing.T) {
		t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", pki.CAFile())
		tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc",
			Getenv: envOf(map[string]string{telemetry.EnvOTLPEndpoint: "http://127.0.0.1:1"})}, nil)
		if err == nil {
			tel.Stop()
			t.Error("Start accepted TLS settings for a plain-HTTP collector")
		}
	})
}
