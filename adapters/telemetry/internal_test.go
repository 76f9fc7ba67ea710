package telemetry

import (
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestPatternRoute(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                      "",
		"/":                     "", // the catch-all matches everything: no route
		"GET /":                 "",
		"/{$}":                  "/",
		"GET /{$}":              "/",
		"POST /api/x/{$}":       "/api/x/",
		"/api/auth/internal/":   "/api/auth/internal/",
		"DELETE /s/{id}":        "/s/{id}",
		"example.com/a/{id...}": "/a/{id...}",
		"GET example.com/a/{$}": "/a/",
		"GET /assets/{file...}": "/assets/{file...}",
	} {
		if got := patternRoute(pattern); got != want {
			t.Errorf("patternRoute(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestSpanMethod(t *testing.T) {
	for m, want := range map[string]string{"GET": "GET", "POST": "POST", "OPTIONS": "OPTIONS", "get": "_OTHER",
		"BREW": "_OTHER", "": "_OTHER"} {
		if got := spanMethod(m); got != want {
			t.Errorf("spanMethod(%q) = %q, want %q", m, got, want)
		}
	}
}

func TestParseResourceAttributes(t *testing.T) {
	got, err := parseResourceAttributes(" service.instance.id = a%2Cb , ,k=v=w,empty=")
	if err != nil {
		t.Fatal(err)
	}
	want := []attribute.KeyValue{attribute.String("service.instance.id", "a,b"), attribute.String("k", "v=w"),
		attribute.String("empty", "")}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"novalue", "=v", "k=%zz"} {
		if _, err := parseResourceAttributes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestBuildVersion(t *testing.T) {
	if v := BuildVersion(); v == "" {
		t.Error("empty build version")
	}
	defer func(v string) { version = v }(version)
	version = "v9.9.9"
	if v := BuildVersion(); v != "v9.9.9" {
		t.Errorf("linker-set version ignored: %q", v)
	}
}
