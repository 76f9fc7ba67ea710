package device_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/scope"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestGrantTypeIsTheClientGrant(t *testing.T) {
	t.Parallel()
	if device.GrantType != string(client.GrantDeviceCode) || device.RedirectURI != device.GrantType {
		t.Fatalf("grant type %q, client grant %q, redirect URI %q", device.GrantType, client.GrantDeviceCode, device.RedirectURI)
	}
}

func TestNewUserCode(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		c, err := device.NewUserCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != device.UserCodeLen || strings.Trim(c, device.UserCodeAlphabet) != "" {
			t.Fatalf("user code %q: want %d characters of %s", c, device.UserCodeLen, device.UserCodeAlphabet)
		}
		if n, err := device.NormalizeUserCode(device.FormatUserCode(c)); err != nil || n != c {
			t.Fatalf("Normalize(Format(%q)) = %q, %v", c, n, err)
		}
		seen[c] = true
	}
	if len(seen) < 199 {
		t.Fatalf("only %d distinct codes of 200", len(seen))
	}
	// Only bytes below the largest multiple of 20 are used: 0xff is rejected, 0x00 is 'B'.
	src := bytes.NewReader(append(bytes.Repeat([]byte{0xff}, 16), make([]byte, 16)...))
	if c, err := device.NewUserCode(src); err != nil || c != "BBBBBBBB" {
		t.Fatalf("rejection sampling: %q %v", c, err)
	}
}

func TestNormalizeUserCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"BCDF-GHJK", "BCDFGHJK"},
		{"bcdfghjk", "BCDFGHJK"},
		{" bcdf ghjk ", "BCDFGHJK"},
		{"B-C-D-F-G-H-J-K", "BCDFGHJK"},
		{"BCDF-GHJ", ""},       // too short
		{"BCDF-GHJKL", ""},     // too long
		{"BCDF-GHJA", ""},      // vowel
		{"BCDF-GHJ1", ""},      // digit
		{"BCDF-GHJ\u212a", ""}, // Kelvin sign upper-cases to K in Unicode, not here
		{"", ""},
		{strings.Repeat("-", 100), ""},
	} {
		got, err := device.NormalizeUserCode(tc.in)
		if tc.want == "" {
			if !errors.Is(err, device.ErrMalformedUserCode) {
				t.Errorf("Normalize(%q) = %q, %v; want ErrMalformedUserCode", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if device.HashUserCode("BCDFGHJK") == device.HashDeviceCode("BCDFGHJK") {
		t.Error("user and device code hashes must be domain-separated")
	}
}

func TestSealCode(t *testing.T) {
	t.Parallel()
	dc, err := device.NewDeviceCode(rand.Reader)
	if err != nil || !device.ValidDeviceCode(dc) {
		t.Fatalf("device code %q %v", dc, err)
	}
	pub, err := device.PublicKey(dc)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := grant.NewSecret(rand.Reader, grant.KindCode)
	sealed, err := device.SealCode(pub, raw)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(raw)) {
		t.Fatal("sealed code contains the code")
	}
	if got, err := device.OpenCode(dc, sealed); err != nil || got != raw {
		t.Fatalf("OpenCode = %q, %v", got, err)
	}
	other, _ := device.NewDeviceCode(rand.Reader)
	if _, err := device.OpenCode(other, sealed); !errors.Is(err, device.ErrUnseal) {
		t.Fatalf("another device code opened the code: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := device.OpenCode(dc, tampered); !errors.Is(err, device.ErrUnseal) {
		t.Fatalf("tampered seal opened: %v", err)
	}
	if _, err := device.PublicKey("sva_ac_" + strings.Repeat("A", 43)); !errors.Is(err, device.ErrMalformedDeviceCode) {
		t.Fatalf("PublicKey of a non-device code: %v", err)
	}
	if err := pkce.ChallengeFor(device.Verifier(dc)).Verify(device.Verifier(dc)); err != nil || !pkce.ValidVerifier(device.Verifier(dc)) {
		t.Fatalf("verifier: %v", err)
	}
}

// newDeviceRequest is a pending device request of client "tv" for openid profile.
func newDeviceRequest(t *testing.T) (*authreq.Request, string) {
	t.Helper()
	c, _, err := client.New(client.Params{Type: client.Public, AuthMethod: client.AuthNone, Name: "TV",
		GrantTypes: []client.GrantType{client.GrantDeviceCode}, AllowedScopes: scope.MustParse("openid profile")}, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	dc, _ := device.NewDeviceCode(rand.Reader)
	pub, _ := device.PublicKey(dc)
	id, _ := authreq.NewID(rand.Reader)
	r, err := authreq.NewDevice(id, c, "openid profile", pkce.ChallengeFor(device.Verifier(dc)), pub, now, device.DefaultTTL)
	if err != nil {
		t.Fatal(err)
	}
	return r, dc
}

func TestDecide(t *testing.T) {
	t.Parallel()
	interval := device.DefaultInterval
	first := device.Poll{Interval: interval}
	polled := device.Poll{Interval: interval, LastAt: now}
	for _, tc := range []struct {
		name         string
		decide       func(*authreq.Request) // the person's decision, if any
		poll         device.Poll
		client       string // "" means the request's own client
		at           time.Time
		want         device.Outcome
		wantInterval time.Duration
		wantErr      error
	}{
		{"first poll pending", nil, first, "", now, device.Pending, interval, nil},
		{"on time pending", nil, polled, "", now.Add(interval), device.Pending, interval, nil},
		{"too early slow_down", nil, polled, "", now.Add(interval - time.Second), device.SlowDown, interval + device.SlowDownStep, nil},
		{"slow_down is capped", nil, device.Poll{Interval: device.MaxInterval, LastAt: now}, "", now.Add(time.Second), device.SlowDown, device.MaxInterval, nil},
		{"slowed interval kept", nil, device.Poll{Interval: 10 * time.Second, LastAt: now}, "", now.Add(7 * time.Second), device.SlowDown, 15 * time.Second, nil},
		{"approved", approve, polled, "", now.Add(interval), device.Approved, interval, nil},
		{"approved but too early", approve, polled, "", now.Add(time.Second), device.SlowDown, interval + device.SlowDownStep, nil},
		{"denied, even too early", deny, polled, "", now.Add(time.Second), device.Denied, interval, nil},
		{"expired", nil, polled, "", now.Add(device.DefaultTTL), device.Expired, interval, nil},
		{"another client", nil, first, "other", now, "", interval, device.ErrWrongClient},
		{"no client", nil, first, "-", now, "", interval, device.ErrWrongClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newDeviceRequest(t)
			if tc.decide != nil {
				tc.decide(r)
			}
			cl := r.ClientID()
			switch tc.client {
			case "-":
				cl = ""
			case "":
			default:
				cl = tc.client
			}
			got, next, err := device.Decide(r, tc.poll, cl, tc.at)
			if !errors.Is(err, tc.wantErr) || got != tc.want || next.Interval != tc.wantInterval {
				t.Fatalf("Decide = %q, %+v, %v; want %q, interval %s, %v", got, next, err, tc.want, tc.wantInterval, tc.wantErr)
			}
			recorded := got == device.Pending || got == device.SlowDown || got == device.Approved
			if recorded != next.LastAt.Equal(tc.at) {
				t.Fatalf("poll recorded = %v at %v for %q", next.LastAt, tc.at, got)
			}
		})
	}
}

func approve(r *authreq.Request) {
	if err := r.Complete("user-1", scope.MustParse("openid"), now); err != nil {
		panic(err)
	}
}

func deny(r *authreq.Request) {
	if err := r.Deny("user-1", now); err != nil {
		panic(err)
	}
}

func TestDecide_NotADeviceRequest(t *testing.T) {
	t.Parallel()
	c, _, _ := client.New(client.Params{Type: client.Confidential, Name: "App", RedirectURIs: []string{"https://rp.example/cb"},
		AllowedScopes: scope.MustParse("openid")}, rand.Reader, now)
	id, _ := authreq.NewID(rand.Reader)
	r, err := authreq.New(id, c, "https://rp.example/cb", authreq.Params{ResponseType: "code", Scope: "openid",
		CodeChallenge: pkce.ChallengeFor(strings.Repeat("v", 43)).String(), CodeChallengeMethod: "S256"}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := device.Decide(r, device.Poll{}, c.ID(), now); !errors.Is(err, device.ErrNotDevice) {
		t.Fatalf("Decide on a browser request: %v", err)
	}
	if device.Resolvable(r, now) {
		t.Fatal("a browser request is resolvable by user code")
	}
}

// TestDeviceRequest: the device request's code is sealed to the device and redeems only with
// the device code's verifier at the device URN; Rehydrate keeps the key and refuses a device
// request without one.
func TestDeviceRequest(t *testing.T) {
	t.Parallel()
	r, dc := newDeviceRequest(t)
	if !r.IsDevice() || r.RedirectURI() != device.RedirectURI || !device.Resolvable(r, now) || device.Resolvable(r, now.Add(device.DefaultTTL)) {
		t.Fatalf("device request: device=%v redirect=%q", r.IsDevice(), r.RedirectURI())
	}
	back, err := authreq.Rehydrate(r.Snapshot())
	if err != nil || !bytes.Equal(back.DeviceKey(), r.DeviceKey()) || !back.IsDevice() {
		t.Fatalf("Rehydrate: %v", err)
	}
	snap := r.Snapshot()
	snap.DeviceKey = nil
	if _, err := authreq.Rehydrate(snap); err == nil {
		t.Fatal("Rehydrate accepted a device request without its key")
	}
	approve(r)
	raw, _ := grant.NewSecret(rand.Reader, grant.KindCode)
	code, err := grant.NewCode(r, raw, "header.e30.sig", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := device.OpenCode(dc, code.SealedForDevice); err != nil || opened != raw {
		t.Fatalf("sealed for device: %q %v", opened, err)
	}
	if err := code.Challenge.Verify(device.Verifier(dc)); err != nil {
		t.Fatalf("challenge: %v", err)
	}
	c, _, _ := client.New(client.Params{Type: client.Public, AuthMethod: client.AuthNone, Name: "TV",
		GrantTypes: []client.GrantType{client.GrantDeviceCode}, AllowedScopes: scope.MustParse("openid")}, rand.Reader, now)
	id, _ := authreq.NewID(rand.Reader)
	pub, _ := device.PublicKey(dc)
	ch := pkce.ChallengeFor(device.Verifier(dc))
	for _, tc := range []struct{ name, scope string }{{"empty scope", ""}, {"unknown scope", "nope"}, {"scope not the client's", "openid email"}} {
		if _, err := authreq.NewDevice(id, c, tc.scope, ch, pub, now, 0); err == nil {
			t.Errorf("%s: NewDevice accepted it", tc.name)
		}
	}
}
