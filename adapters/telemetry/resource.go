package telemetry

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	// v1.43.0 is the semconv version sdk v1.47 builds its resources with; any other version
	// makes merging resources fail with a schema URL conflict.
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// version is the build's version when set at link time:
//
//	go build -ldflags "-X github.com/sva-oauth/sva/adapters/telemetry.version=v1.2.3" ./apps/...
//
// Without it BuildVersion reads what the Go toolchain stamped into the binary.
var version string

// BuildVersion is the version of the running build: the linker-set version if any, else the
// main module's version stamped by `go build` (a tag, or a pseudo-version from the VCS commit,
// "+dirty" when the tree had changes), else "devel-<commit>" from the VCS settings, else "devel"
// (go run and go test stamp nothing).
func BuildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "devel"
	}
	v := "devel-" + rev[:min(12, len(rev))]
	if modified == "true" {
		v += "+dirty"
	}
	return v
}

// newResource builds the service's resource: service.name, service.version and
// service.instance.id, host.name, the SDK's own attributes, then OTEL_RESOURCE_ATTRIBUTES (which
// may override everything but service.name).
func newResource(ctx context.Context, cfg Config, getenv func(string) string) (res *resource.Resource, instanceID, ver string, err error) {
	fromEnv, err := parseResourceAttributes(getenv(EnvResourceAttributes))
	if err != nil {
		return nil, "", "", fmt.Errorf("telemetry: %s: %w", EnvResourceAttributes, err)
	}
	ver = cfg.Version
	if ver == "" {
		ver = BuildVersion()
	}
	instanceID = cfg.InstanceID
	attrs := []attribute.KeyValue{semconv.ServiceName(cfg.ServiceName), semconv.ServiceVersion(ver)}
	for _, kv := range fromEnv {
		switch kv.Key {
		case semconv.ServiceNameKey:
			continue // the service's name is what dashboards and alerts select on
		case semconv.ServiceInstanceIDKey:
			if instanceID == "" {
				instanceID = kv.Value.AsString()
			}
			continue
		case semconv.ServiceVersionKey:
			ver = kv.Value.AsString()
		}
		attrs = append(attrs, kv)
	}
	if instanceID == "" {
		instanceID = rand.Text() // 26 base32 characters, 130 bits: unique without coordination
	}
	attrs = append(attrs, semconv.ServiceInstanceID(instanceID))
	res, err = resource.New(ctx, resource.WithSchemaURL(semconv.SchemaURL), resource.WithTelemetrySDK(),
		resource.WithHost(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, "", "", fmt.Errorf("telemetry: build resource: %w", err)
	}
	return res, instanceID, ver, nil
}

// parseResourceAttributes parses the OTEL_RESOURCE_ATTRIBUTES format: comma-separated
// key=value pairs, values percent-encoded (W3C Baggage octets).
func parseResourceAttributes(s string) ([]attribute.KeyValue, error) {
	var out []attribute.KeyValue
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", pair)
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("value of %s: %w", k, err)
		}
		out = append(out, attribute.String(k, val))
	}
	return out, nil
}
