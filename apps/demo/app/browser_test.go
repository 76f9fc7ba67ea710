package app

import (
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/browsertest"
)

// The demo's pages in a real browser, each state screenshotted at 1280 and 390 px and audited
// with axe-core (adapters/browsertest): home, the signed-in result, the result five minutes later
// (data token expired, claims kept), a refresh, a refresh after the grant was revoked, and the
// return from "Sign out everywhere".
func TestBrowser_DemoPages(t *testing.T) {
	e := newDemo(t, nil)
	b := browsertest.New(t, browsertest.Options{ShotPrefix: "demo-"})
	b.Open(e.demo.URL + "/")
	b.WaitFor("home", `document.getElementById('signin')`)
	b.Shot("01-home")
	b.Click("#signin")
	b.WaitFor("result", `document.getElementById('claims') && document.readyState === 'complete'`)
	if got := b.Text(`tr[data-claim="name"] td.value`); got != "Ada <Lovelace>" {
		t.Errorf("name claim shown as %q", got)
	}
	b.Shot("02-result")

	e.clock.Advance(6 * time.Minute)
	b.Open(e.demo.URL + "/")
	b.WaitFor("result after five minutes", `document.getElementById('data-token-note')`)
	if got := b.Text("#data-token-expiry"); !strings.Contains(got, "expired") {
		t.Errorf("#data-token-expiry = %q, want it marked expired", got)
	}
	b.Shot("03-result-data-token-expired")
	b.Click("#refresh")
	b.WaitFor("refresh outcome", `document.getElementById('refresh-result')`)
	if got := b.Text("#refresh-result"); !strings.Contains(got, "still the ones verified at sign-in") {
		t.Errorf("#refresh-result = %q", got)
	}
	b.Shot("04-refreshed")

	e.fp.mu.Lock()
	e.fp.refreshError = "invalid_grant"
	e.fp.mu.Unlock()
	b.Click("#refresh")
	b.WaitFor("refresh failure", `document.querySelector('#refresh-result.fail')`)
	b.Shot("05-refresh-revoked")

	e.clock.Advance(-6 * time.Minute) // back to now, so the new data token verifies
	b.Click("#signin")
	b.WaitFor("signed in again", `document.getElementById('signout-everywhere') && document.readyState === 'complete'`)
	b.Click("#signout-everywhere")
	b.WaitFor("back from the end-session endpoint", `document.getElementById('signed-out-everywhere') && document.readyState === 'complete'`)
	b.Shot("06-signed-out-everywhere")
}
