package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
)

// TestClientLockoutFailsClosedWhenTheDiskIsFull: with SQLite's disk full, a wrong client secret
// whose failure cannot be counted is refused with 503 temporarily_unavailable (Retry-After) and
// logged at ERROR — never the plain 401 that let 25 guesses through uncounted (issue 8 item 5).
// Once the disk has room again, counting resumes without a restart and the lockout (429) holds.
func TestClientLockoutFailsClosedWhenTheDiskIsFull(t *testing.T) {
	disk := dbtest.NewSmallDisk(t, "4m")
	e := newEnvOn(t, disk.OpenSQLite(sqlstore.Migrations()))
	c := e.newClient(false)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"sva_rt_x"}}

	disk.Fill()
	for i := range 25 {
		resp, body := e.postForm("/oauth/token", form, &[2]string{c.ID, "wrong-secret"})
		if resp.StatusCode == http.StatusUnauthorized {
			t.Fatalf("attempt %d: 401 %v — a failure that could not be counted was answered as an ordinary one", i+1, body)
		}
		wantOAuthError(t, resp, body, http.StatusServiceUnavailable, "temporarily_unavailable")
		if resp.Header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d: 503 without Retry-After", i+1)
		}
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "ratelimit: counter could not be recorded") {
		t.Errorf("the refused, uncounted attempts were not logged at ERROR:\n%s", logs)
	}

	disk.Free()
	statuses := map[int]int{}
	for range 12 {
		resp, _ := e.postForm("/oauth/token", form, &[2]string{c.ID, "wrong-secret"})
		statuses[resp.StatusCode]++
	}
	if statuses[http.StatusUnauthorized] != 10 || statuses[http.StatusTooManyRequests] != 2 {
		t.Errorf("after the disk has room again: statuses %v, want 10×401 then 429s", statuses)
	}
}

// TestDevice_UserCodeGuessingFailsClosed: with SQLite's disk full, a wrong user code whose
// failure cannot be counted is refused with 503 temporarily_unavailable — never answered as an
// ordinary wrong guess, which would let guessing through uncounted (security rule 78).
func TestDevice_UserCodeGuessingFailsClosed(t *testing.T) {
	disk := dbtest.NewSmallDisk(t, "4m")
	e := newEnvOn(t, disk.OpenSQLite(sqlstore.Migrations()))
	c := e.deviceClient(true)
	uc := e.startDevice(c, "openid")["user_code"].(string)

	disk.Fill()
	for i := range 10 {
		resp, body := e.resolve("BBBB-BBBB", userID)
		if resp.StatusCode != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d with a full disk: %d %v", i+1, resp.StatusCode, body)
		}
	}
	disk.Free()
	if resp, body := e.resolve(uc, userID); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the disk has room again: %d %v", resp.StatusCode, body)
	}
}
