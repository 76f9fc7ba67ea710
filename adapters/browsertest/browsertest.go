// Package browsertest drives headless Chromium for SVA's browser tests (the consent UI's smoke
// test in `go test ./...` and the whole-stack e2e in `make e2e`). Test-only: the layering test
// allows it in _test.go files alone.
//
// Every test that uses it gets, per screenshot: the page at desktop width and at 390 px (a
// phone), an axe-core accessibility audit at both widths that fails the test on any serious or
// critical violation, and a probe that fails it on CSP violations, uncaught errors and console
// errors (a 401 from an API call shows as a console error). Chromium and axe-core are installed
// by `make test-setup`; a test fails (never skips) when they are missing, naming the command
// that installs them. Only `go test -short` skips browser tests, and says so.
package browsertest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Widths every screenshot is taken at: a desktop window and a 390 px phone.
const (
	DesktopWidth, DesktopHeight = 1280, 900
	PhoneWidth, PhoneHeight     = 390, 844
)

// ChromePath is CHROME_PATH, or Debian's /usr/bin/chromium.
func ChromePath() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// RepoRoot finds the module root (where artifacts/ and the npm lockfiles live).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// axePath is where `make test-setup` installs the pinned axe-core (package-lock.json beside
// this file).
const axePath = "adapters/browsertest/node_modules/axe-core/axe.min.js"

// Requirements checks that Chromium and axe-core are installed, failing the test with the
// command that installs them. Under -short it skips, which the totals line of `make test`
// reports with this reason.
func Requirements(t testing.TB) (chrome string, axe []byte) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped: -short")
	}
	chrome = ChromePath()
	if _, err := os.Stat(chrome); err != nil {
		t.Fatalf("no Chromium at %s: run `make test-setup` (installs Debian's chromium) or set CHROME_PATH; `go test -short` skips browser tests", chrome)
	}
	axe, err := os.ReadFile(filepath.Join(RepoRoot(t), axePath))
	if err != nil {
		t.Fatalf("axe-core is not installed (%v): run `make test-setup` (npm ci --prefix adapters/browsertest)", err)
	}
	return chrome, axe
}

// probe runs before any page script: it records CSP violations, uncaught errors and console
// errors so the test fails on them. It is plain code (no eval), so the pages' CSP allows it.
const probe = `
window.__probe = {csp: [], errors: []};
document.addEventListener('securitypolicyviolation', e => window.__probe.csp.push(e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', e => window.__probe.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', e => window.__probe.errors.push(String(e.reason)));
`

// Request is one request the browser sent (when recording is on).
type Request struct {
	Method, URL   string
	Body          string
	Uninspectable bool // the browser said there was a body but did not include it
}

// Browser is one headless Chromium with one tab.
type Browser struct {
	t        *testing.T
	ctx      context.Context
	close    func()
	axe      string
	shotsDir string
	prefix   string

	mu       sync.Mutex
	reqs     []Request
	console  []string // console errors and failed loads since the last check
	shotSeen map[string]bool
}

// Options configure New.
type Options struct {
	// ShotPrefix starts every screenshot's file name (e.g. "consent-").
	ShotPrefix string
	// Timeout bounds the whole browser session (default 3 minutes).
	Timeout time.Duration
	// TrustedSPKI are base64 SHA-256 hashes of the public keys of servers the browser trusts
	// although no CA it knows signed them (Chromium's ignore-certificate-errors-spki-list: a
	// certificate with one of these keys is accepted, every other is still verified). The HTTPS
	// tests pin the development CA's server certificate this way (SPKIHash).
	TrustedSPKI []string
}

// SPKIHash is the pin of cert for Options.TrustedSPKI: base64(SHA-256(SubjectPublicKeyInfo)).
func SPKIHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// New starts Chromium. It fails the test when Chromium or axe-core is missing (see Requirements).
func New(t *testing.T, opts Options) *Browser {
	t.Helper()
	exe, axe := Requirements(t)
	if opts.Timeout == 0 {
		opts.Timeout = 3 * time.Minute
	}
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(DesktopWidth, DesktopHeight))
	if len(opts.TrustedSPKI) > 0 {
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(opts.TrustedSPKI, ",")))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, opts.Timeout)
	var once sync.Once
	b := &Browser{t: t, ctx: ctx, axe: string(axe), prefix: opts.ShotPrefix, shotSeen: map[string]bool{},
		close: func() { once.Do(func() { cancelC(); cancelB(); cancelA() }) }}
	t.Cleanup(b.close)
	if err := chromedp.Listen(ctx, b.onEvent); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable runtime events: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: probe}); err != nil {
		t.Fatalf("install page probe: %v", err)
	}
	b.shotsDir = filepath.Join(RepoRoot(t), "artifacts", "screenshots")
	if err := os.MkdirAll(b.shotsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if b.prefix != "" {
		// Pictures of a previous run would pass for this one's.
		old, _ := filepath.Glob(filepath.Join(b.shotsDir, b.prefix+"*.png"))
		for _, f := range old {
			os.Remove(f)
		}
	}
	return b
}

func (b *Browser) onEvent(ev any) {
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if e.Request == nil {
			return
		}
		r := Request{Method: e.Request.Method, URL: e.Request.URL}
		for _, p := range e.Request.PostDataEntries {
			r.Body += string(p.Bytes)
		}
		r.Uninspectable = e.Request.HasPostData && len(e.Request.PostDataEntries) == 0
		b.mu.Lock()
		b.reqs = append(b.reqs, r)
		b.mu.Unlock()
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
		}
		b.addConsole("console.error: " + strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		b.addConsole("exception: " + msg)
	case *network.EventResponseReceived:
		// Chrome logs every failed fetch or load (4xx/5xx) to the console as an error; a person
		// opening the devtools sees it, so the tests treat it as one.
		if e.Response != nil && e.Response.Status >= 400 {
			b.addConsole(fmt.Sprintf("HTTP %d from %s", int(e.Response.Status), e.Response.URL))
		}
	}
}

func (b *Browser) addConsole(s string) {
	b.mu.Lock()
	b.console = append(b.console, s)
	b.mu.Unlock()
}

// ExpectConsole forgets console errors seen so far: for a test step that provokes one on
// purpose (a wrong password's 401, Core being down), after the test has checked what the person sees.
func (b *Browser) ExpectConsole() {
	b.mu.Lock()
	b.console = nil
	b.mu.Unlock()
}

// ConsoleErrors returns the console errors seen since the last check, without forgetting them.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// Close ends the browser (idempotent); tests call it before stopping servers so no open
// connection holds up their graceful shutdown.
func (b *Browser) Close() { b.close() }

// Context is the browser tab's context, for chromedp calls a test needs directly.
func (b *Browser) Context() context.Context { return b.ctx }

// Requests returns every request the browser sent so far.
func (b *Browser) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Request(nil), b.reqs...)
}

// Open navigates to an absolute URL.
func (b *Browser) Open(u string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(u)); err != nil {
		b.t.Fatalf("navigate %s: %v", u, err)
	}
}

// Eval evaluates a JavaScript expression (awaiting a promise) and returns its value.
func (b *Browser) Eval(expr string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// EvalJSON evaluates expr and returns its JSON rendering, for compact comparisons.
func (b *Browser) EvalJSON(expr string) string {
	b.t.Helper()
	raw, _ := json.Marshal(b.Eval(expr))
	return string(raw)
}

// Text is the trimmed text of the first element matching selector ("" if none).
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	v, _ := b.Eval(`document.querySelector(` + JS(selector) + `)?.textContent.trim() ?? ''`).(string)
	return v
}

// WaitFor polls a predicate with Runtime.evaluate until it holds (20 s at most). chromedp.Poll
// cannot be used: it builds its predicate with new Function, which the pages' CSP (no
// unsafe-eval) rightly refuses.
func (b *Browser) WaitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("Boolean("+expr+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			status, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href + ' | status: ' + (document.getElementById('status')?.textContent ?? '') + ' | ' + (document.querySelector('main')?.innerText ?? '').slice(0, 400)`))
			if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
				name := b.prefix + "FAILED-" + strings.NewReplacer(" ", "-", "/", "-").Replace(what) + ".png"
				os.WriteFile(filepath.Join(b.shotsDir, name), png, 0o644)
			}
			b.t.Fatalf("timed out waiting for %s (%v); page: %s", what, err, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Fill sets a control's value the way typing would (input event included).
func (b *Browser) Fill(id, value string) {
	b.t.Helper()
	b.Eval(`(() => { const el = document.getElementById(` + JS(id) + `); if (!el) throw new Error('no #' + ` + JS(id) + `); el.value = ` + JS(value) +
		`; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
}

// Click clicks the first element matching selector.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.Eval(`(() => { const el = document.querySelector(` + JS(selector) + `); if (!el) throw new Error('nothing matches ' + ` + JS(selector) + `); el.click(); return true; })()`)
}

// JS quotes s as a JavaScript string literal.
func JS(s string) string {
	v, _ := json.Marshal(s)
	return string(v)
}

// Shot saves the page as artifacts/screenshots/<prefix><name>.png (desktop) and
// <prefix><name>-390.png (phone), runs the accessibility audit at both widths, and checks the
// probe: no CSP violation, uncaught error or console error since the last check.
func (b *Browser) Shot(name string) {
	b.t.Helper()
	if b.shotSeen[name] {
		b.t.Fatalf("screenshot name %q used twice", name)
	}
	b.shotSeen[name] = true
	for _, w := range []struct {
		suffix        string
		width, height int64
	}{{"", DesktopWidth, DesktopHeight}, {"-390", PhoneWidth, PhoneHeight}} {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(w.width, w.height)); err != nil {
			b.t.Fatalf("viewport %dx%d: %v", w.width, w.height, err)
		}
		// A viewport as tall as the page, so what a person sees when scrolling is in one picture
		// and sticky bars sit where they would at the end of the page, not across the middle.
		if h, err := chromedp.Run(b.ctx, chromedp.Evaluate[int64](`Math.ceil(document.documentElement.scrollHeight)`)); err == nil && h > w.height {
			if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(w.width, h)); err != nil {
				b.t.Fatalf("viewport %dx%d: %v", w.width, h, err)
			}
		}
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(b.shotsDir, b.prefix+name+w.suffix+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		where := fmt.Sprintf("%s at %d px", name, w.width)
		for _, v := range b.Audit() {
			b.t.Errorf("%s: accessibility %s", where, v)
		}
	}
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		b.t.Fatalf("reset viewport: %v", err)
	}
	b.CheckProbe(name)
}

// axeViolation is the part of an axe-core result the report needs.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// Audit runs axe-core in the page and returns its serious and critical violations, one line
// each. axe is evaluated through the DevTools protocol, which the page's CSP does not govern; it
// reads the DOM and computed styles only.
func (b *Browser) Audit() []string {
	b.t.Helper()
	if ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`)); !ok {
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](b.axe+";true")); err != nil {
			b.t.Fatalf("load axe-core: %v", err)
		}
	}
	const run = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)})))`
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run axe-core: %v", err)
	}
	out := make([]string, len(got))
	for i, v := range got {
		out[i] = fmt.Sprintf("(%s) %s: %s\n  %s", v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "\n  "))
	}
	return out
}

// CheckProbe fails the test on CSP violations, uncaught errors or console errors since the
// last check (each is reported once).
func (b *Browser) CheckProbe(where string) {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string][]string](`(() => { const p = window.__probe ?? {csp: [], errors: []}; window.__probe = {csp: [], errors: []}; return p; })()`))
	if err != nil {
		b.t.Fatalf("%s: read probe: %v", where, err)
	}
	if len(v["csp"]) > 0 {
		b.t.Errorf("%s: CSP violations: %v", where, v["csp"])
	}
	if len(v["errors"]) > 0 {
		b.t.Errorf("%s: uncaught errors: %v", where, v["errors"])
	}
	b.mu.Lock()
	console := b.console
	b.console = nil
	b.mu.Unlock()
	if len(console) > 0 {
		b.t.Errorf("%s: console errors: %s", where, strings.Join(console, "; "))
	}
}

// StorageIsEmpty checks that nothing was put in localStorage, sessionStorage or IndexedDB and
// that the session cookie is not readable by script (checklist 45, 47).
func (b *Browser) StorageIsEmpty(where string, sessionCookie string) {
	b.t.Helper()
	got := b.Eval(`(async () => localStorage.length + sessionStorage.length + (await indexedDB.databases()).length)()`)
	if got != float64(0) {
		b.t.Errorf("%s: browser storage is not empty (%v entries)", where, got)
	}
	if c, _ := b.Eval(`document.cookie`).(string); strings.Contains(c, sessionCookie) {
		b.t.Errorf("%s: session cookie is readable by script: %q", where, c)
	}
}
