package systemtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// repoRoot is the repository's root, seen from this package's directory.
const repoRoot = "../../.."

// Shipped operations files (issue 15 item 4).
var (
	alertRules     = filepath.Join(repoRoot, "deploy", "prometheus", "sva-alerts.yml")
	alertRuleTests = filepath.Join(repoRoot, "deploy", "prometheus", "sva-alerts.test.yml")
	dashboard      = filepath.Join(repoRoot, "deploy", "grafana", "sva-overview.json")
)

// TestOpsFiles checks the shipped Prometheus alert rules and Grafana dashboard against the running
// services: promtool accepts the rules and every dashboard query, the rules' unit tests pass (each
// alert fires when it should, and not before), and every metric either file uses is exposed by the
// services' Prometheus endpoints after one complete sign-in. It also checks that every sva_*
// metric the services expose is in the dashboard and in docs/observability.md.
func TestOpsFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("system test skipped in -short mode")
	}
	promtool := findPromtool(t)

	// The rules: syntax, then their unit tests.
	runPromtool(t, promtool, "check", "rules", alertRules)
	runPromtool(t, promtool, "test", "rules", alertRuleTests)
	ruleExprs := ruleExpressions(t, alertRules)

	// The dashboard: every query, with Grafana's variables given values, as a rule promtool parses.
	dashExprs := dashboardExpressions(t, dashboard)
	if len(dashExprs) < 10 {
		t.Fatalf("the dashboard has %d queries", len(dashExprs))
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dashExprs {
		fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %q\n", i, grafanaVars.Replace(e))
	}
	asRules := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(asRules, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, promtool, "check", "rules", asRules)

	// What the services expose after a sign-in.
	s := Start(t, Options{Metrics: true})
	signInThroughUI(t, s, []string{"openid", "email", "name"}, []string{"openid", "email"})
	exposed := map[string]bool{}
	for _, instance := range []string{"oauth", "core", "consent"} {
		text := scrape(t, s.Metrics[instance])
		for name := range metricNames(text) {
			exposed[name] = true
		}
		if !strings.Contains(text, `service_name="sva-`+instance+`"`) {
			t.Errorf("%s's series carry no service_name", instance)
		}
		if instance != "consent" && !regexp.MustCompile(`(?m)^sva_ready\{.*\} 1$`).MatchString(text) {
			t.Errorf("%s is not reported ready (sva_ready)", instance)
		}
	}
	builtin := map[string]bool{"up": true} // Prometheus's own, per scrape target
	for file, exprs := range map[string][]string{alertRules: ruleExprs, dashboard: dashExprs} {
		used := map[string]bool{}
		for _, e := range exprs {
			for _, n := range promqlMetricNames(e) {
				used[n] = true
			}
		}
		if len(used) < 8 {
			t.Errorf("%s uses only %v", file, slices.Sorted(maps.Keys(used)))
		}
		for n := range used {
			if !exposed[n] && !builtin[n] {
				t.Errorf("%s uses %s, which no service exposes after a sign-in", filepath.Base(file), n)
			}
		}
	}

	// Every SVA metric is on the dashboard and in the docs.
	docs, err := os.ReadFile(filepath.Join(repoRoot, "docs", "observability.md"))
	if err != nil {
		t.Fatal(err)
	}
	onDashboard := map[string]bool{}
	for _, e := range dashExprs {
		for _, n := range promqlMetricNames(e) {
			onDashboard[familyOf(n)] = true
		}
	}
	for n := range exposed {
		if !strings.HasPrefix(n, "sva_") {
			continue
		}
		f := familyOf(n)
		if !onDashboard[f] {
			t.Errorf("the dashboard does not show %s", f)
		}
		if !bytes.Contains(docs, []byte("`"+f)) {
			t.Errorf("docs/observability.md does not document %s", f)
		}
	}
}

// findPromtool returns $PROMTOOL, the one `make promtool` installed, or promtool on PATH.
func findPromtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	if p := filepath.Join(repoRoot, ".tools", "prometheus", "promtool"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	t.Fatal("promtool is not installed: run `make promtool` (or `make test-setup`), or set PROMTOOL")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func runPromtool(t *testing.T, promtool string, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ruleExpressions returns the expr of every rule in a Prometheus rules file.
func ruleExpressions(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Expr)
		}
	}
	return out
}

// dashboardExpressions returns every PromQL query of a Grafana dashboard: its panels' targets
// (rows included) and its query variables.
func dashboardExpressions(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string
		Targets []struct{ Expr string }
		Panels  json.RawMessage
	}
	var d struct {
		Panels     []panel
		Templating struct {
			List []struct {
				Type  string
				Query json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("panel %q has a target without a query", p.Title)
				}
				out = append(out, tg.Expr)
			}
			var nested []panel
			if len(p.Panels) > 0 && json.Unmarshal(p.Panels, &nested) == nil {
				walk(nested)
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable query: %v", err)
		}
		// label_values(metric, label) is Grafana's, not PromQL: its metric is what must exist.
		if m := regexp.MustCompile(`^label_values\((\w+),\s*\w+\)$`).FindStringSubmatch(q.Query); m != nil {
			out = append(out, m[1])
		} else {
			out = append(out, q.Query)
		}
	}
	return out
}

// grafanaVars gives Grafana's variables values so a query is plain PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m", "$service", "sva-.*")

func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return string(b)
}

// metricNames returns the names of the samples in a Prometheus text exposition.
func metricNames(text string) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			out[line[:i]] = true
		}
	}
	return out
}

// familyOf strips the sample suffixes of a histogram or summary.
func familyOf(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(name, suffix); ok {
			return f
		}
	}
	return name
}

// promqlMetricNames returns the metric names a PromQL expression selects: identifiers that are not
// functions, keywords, label names (inside {…} and by/without/on/ignoring/group_x (…)), durations
// (inside […]) or strings.
func promqlMetricNames(expr string) []string {
	e := regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`).ReplaceAllString(expr, `""`)
	e = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(e, " ")
	e = regexp.MustCompile(`\[[^\]]*\]`).ReplaceAllString(e, " ")
	e = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`).ReplaceAllString(e, " ")
	keywords := map[string]bool{"and": true, "or": true, "unless": true, "offset": true, "bool": true, "inf": true, "nan": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	var out []string
	for _, loc := range regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`).FindAllStringIndex(e, -1) {
		m := e[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsRune("0123456789.", rune(e[loc[0]-1])) {
			continue // the exponent or unit of a number (2e3, 0x1F)
		}
		if strings.HasSuffix(m, "(") || keywords[strings.ToLower(m)] {
			continue // a function or aggregation, or a keyword
		}
		out = append(out, m)
	}
	return out
}

func TestPromQLMetricNames(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string][]string{
		`sum by (service_name) (rate(x_total{a="b",c=~"d|e"}[5m])) / sum(rate(y_count[1h])) > 0.05`: {"x_total", "y_count"},
		`histogram_quantile(0.99, sum by (le) (rate(h_bucket{http_route!~"/healthz"}[5m]))) > 1`:    {"h_bucket"},
		`up{job="sva"} == 0 or absent(target_info{service_name="sva-oauth"})`:                       {"up", "target_info"},
		`min by (instance) (sva_ready) == 0 and on (instance) m offset 5m`:                          {"sva_ready", "m"},
		`a unless ignoring (x, y) group_left (z) b * 2e3`:                                           {"a", "b"},
		`count("sum(fake_in_string)")`:                                                              nil,
	} {
		if got := promqlMetricNames(expr); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", expr, got, want)
		}
	}
}
