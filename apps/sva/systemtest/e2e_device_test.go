//go:build e2e

package systemtest

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	demoapp "github.com/sva-oauth/sva/apps/demo/app"
)

// TestE2E_DeviceFromTheTerminal: the device authorization grant (RFC 8628, issue 12 item 1) as a
// person meets it. The terminal side is the demo's `demo device` command (the same Run a shell
// starts with `go run ./apps/demo device`), which prints a verification URI and a user code and
// polls; the person, signed in to SVA in Chromium, opens "Connect a device", types the code,
// unlocks the vault and approves on the normal consent screen, and sees "Device connected". The
// command then prints the subject and the claims of the data token it verified. A second run is
// declined in the browser, and the command ends with access_denied.
func TestE2E_DeviceFromTheTerminal(t *testing.T) {
	s := Start(t, Options{})
	b := newBrowser(t)
	step := stepTimer(t)
	const (
		email    = "E2E.Device-7f3a@Example.test"
		password = "copper-HARBOUR-5522-still-7f3a"
	)
	client := s.Do(http.MethodPost, s.InternalURL+"/admin/clients", map[string]any{
		"type":            "public",
		"name":            "Living-room TV",
		"description":     "A device without a keyboard",
		"redirect_uris":   []string{s.RedirectURI},
		"allowed_scopes":  []string{"openid", "email"},
		"required_scopes": []string{"email"}, // ticked on the first consent (optional ones are not)
		"grant_types":     []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"},
	}, "Authorization", "Bearer "+s.AdminToken)
	client.Expect(t, http.StatusCreated)
	terminalEnv := map[string]string{
		"DEMO_ADDR":              "127.0.0.1:0",
		"DEMO_ISSUER":            s.ProviderURL,
		"DEMO_CLIENT_ID":         client.Str("client_id"),
		"DEMO_REDIRECT_URL":      s.RedirectURI,
		"DEMO_SCOPES":            "openid email",
		"DEMO_DATA_TOKEN_ISSUER": s.CoreURL,
	}

	// ---- Sign up in the browser (the vault starts with the sign-up email) ----
	b.signUp(s, email, password)
	step("signed up")

	// ---- Approve: the terminal prints a code, the person types it ----
	term := startTerminal(t, terminalEnv)
	uri, code := term.prompt(t)
	if uri != s.ConsentURL+"/device" {
		t.Errorf("the terminal says to open %q, want the consent UI's %s/device", uri, s.ConsentURL)
	}
	b.Open(uri)
	b.WaitFor("the Connect a device page", `document.getElementById('user-code')`)
	b.Shot("device-01-enter-code")
	b.Fill("user-code", strings.ToLower(strings.ReplaceAll(code, "-", " "))) // typed loosely, as people do
	b.Click("#connect")
	b.unlock(password, `document.getElementById('scope-email')`)
	b.Shot("device-02-consent")
	b.Click(`form button[type=submit]`)
	b.WaitFor("device connected", `document.getElementById('device-done')?.textContent.includes('Device connected')`)
	b.Shot("device-03-connected")
	out, err := term.wait(t)
	if err != nil {
		t.Fatalf("demo device ended with %v after approval:\n%s", err, out)
	}
	if !strings.Contains(out, "Connected. Subject: ") || !strings.Contains(strings.ToLower(out), "email: "+strings.ToLower(email)) {
		t.Errorf("the terminal does not show the subject and the approved email:\n%s", out)
	}
	step("approved from the browser, the terminal got the data token")

	// ---- Decline: the terminal ends with access_denied ----
	term = startTerminal(t, terminalEnv)
	_, code = term.prompt(t)
	b.Open(s.ConsentURL + "/device")
	b.WaitFor("the Connect a device page", `document.getElementById('user-code')`)
	b.Fill("user-code", code)
	b.Click("#connect")
	b.WaitFor("the consent screen's deny button", `document.getElementById('deny')`)
	b.Click("#deny")
	b.WaitFor("device not connected", `document.getElementById('device-done')?.textContent.includes('Device not connected')`)
	out, err = term.wait(t)
	if err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("demo device after a denial: %v, want access_denied:\n%s", err, out)
	}
	step("declined from the browser, the terminal got access_denied")
}

// terminal is one run of `demo device`, its output collected as a terminal would show it.
type terminal struct {
	mu      sync.Mutex
	out     strings.Builder
	seen    chan [2]string // verification URI and user code, once printed
	done    chan error
	scanned chan struct{} // closed once every line the command printed is in out
}

var devicePrompt = regexp.MustCompile(`open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})`)

func startTerminal(t *testing.T, env map[string]string) *terminal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	r, w := io.Pipe()
	term := &terminal{seen: make(chan [2]string, 1), done: make(chan error, 1), scanned: make(chan struct{})}
	go func() {
		defer close(term.scanned)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			term.mu.Lock()
			term.out.WriteString(sc.Text() + "\n")
			term.mu.Unlock()
			if m := devicePrompt.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case term.seen <- [2]string{m[1], m[2]}:
				default:
				}
			}
		}
	}()
	go func() {
		err := demoapp.Run(ctx, []string{"demo", "device"}, func(k string) string { return env[k] }, w, io.Discard)
		_ = w.Close()
		term.done <- err
	}()
	return term
}

// prompt waits for the verification URI and user code the command prints.
func (term *terminal) prompt(t *testing.T) (uri, code string) {
	t.Helper()
	select {
	case p := <-term.seen:
		return p[0], p[1]
	case err := <-term.done:
		t.Fatalf("demo device ended before printing a code: %v\n%s", err, term.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("demo device printed no code within 30 s:\n%s", term.output())
	}
	return "", ""
}

// wait waits for the command to end (it polls at the provider's interval).
func (term *terminal) wait(t *testing.T) (string, error) {
	t.Helper()
	select {
	case err := <-term.done:
		<-term.scanned
		return term.output(), err
	case <-time.After(90 * time.Second):
		t.Fatalf("demo device still polling 90 s after the decision:\n%s", term.output())
	}
	return "", nil
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}
