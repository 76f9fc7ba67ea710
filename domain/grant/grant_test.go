package grant_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/scope"
)

var (
	now      = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	verifier = strings.Repeat("v", 43)
	// payload {"sub":"user-1","claims":{"email":"a@example.com"}}
	dataToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJjbGFpbXMiOnsiZW1haWwiOiJhQGV4YW1wbGUuY29tIn19.c2ln"
)

func secret(t *testing.T, k grant.Kind) string {
	t.Helper()
	s, err := grant.NewSecret(rand.Reader, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 { // checklist 27: no collisions, fixed shape
		s := secret(t, grant.KindAccess)
		if seen[s] {
			t.Fatal("collision")
		}
		seen[s] = true
		if k, ok := grant.KindOf(s); !ok || k != grant.KindAccess || len(s) != len("sva_at_")+43 {
			t.Fatalf("KindOf(%q) = %q, %v", s, k, ok)
		}
	}
	for _, bad := range []string{"", "sva_at_", "sva_at_short", "xyz_" + strings.Repeat("a", 43), "sva_rt_" + strings.Repeat("a", 44)} {
		if _, ok := grant.KindOf(bad); ok {
			t.Errorf("KindOf(%q) = ok", bad)
		}
	}
	if h := grant.HashOf("x"); len(h) != 64 || h != grant.HashOf("x") || h == grant.HashOf("y") {
		t.Errorf("HashOf: %q", h)
	}
	if _, err := grant.NewSecret(bytes.NewReader(make([]byte, 10)), grant.KindCode); err == nil {
		t.Error("NewSecret with a short random source succeeded")
	}
}

// TestSeal covers decision 11: only the raw secret opens the data token.
func TestSeal(t *testing.T) {
	t.Parallel()
	code := secret(t, grant.KindCode)
	sealed, err := grant.Seal(code, dataToken)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("example.com")) || bytes.Contains(sealed, []byte(dataToken[:20])) {
		t.Fatal("sealed blob contains plaintext")
	}
	if got, err := grant.Open(code, sealed); err != nil || got != dataToken {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Wrong secret of the same kind, and the same random part under another kind, both fail.
	if _, err := grant.Open(secret(t, grant.KindCode), sealed); !errors.Is(err, grant.ErrUnseal) {
		t.Errorf("wrong key: %v", err)
	}
	asAccess := string(grant.KindAccess) + strings.TrimPrefix(code, string(grant.KindCode))
	if _, err := grant.Open(asAccess, sealed); !errors.Is(err, grant.ErrUnseal) {
		t.Errorf("other kind: %v", err)
	}
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 0x01
		if _, err := grant.Open(code, tampered); !errors.Is(err, grant.ErrUnseal) {
			t.Fatalf("tampered byte %d accepted", i)
		}
	}
	if _, err := grant.Open(code, sealed[:len(sealed)-1]); !errors.Is(err, grant.ErrUnseal) {
		t.Error("truncated blob accepted")
	}
	if _, err := grant.Open(code, nil); !errors.Is(err, grant.ErrUnseal) {
		t.Error("empty blob accepted")
	}
	if _, err := grant.Seal("not-a-secret", dataToken); err == nil {
		t.Error("Seal with a malformed secret succeeded")
	}
}

func TestDataTokenClaims(t *testing.T) {
	t.Parallel()
	claims, err := grant.DataTokenClaims(dataToken)
	if err != nil || claims["email"] != "a@example.com" {
		t.Fatalf("claims = %v, %v", claims, err)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a.bm90IGpzb24.c"} {
		if _, err := grant.DataTokenClaims(bad); !errors.Is(err, grant.ErrDataTokenClaims) {
			t.Errorf("DataTokenClaims(%q) = %v", bad, err)
		}
	}
	got := grant.PermittedClaims(map[string]any{"email": "e", "phone": "p", "sub": "x", "name": "n"}, scope.MustParse("openid email"))
	if len(got) != 1 || got["email"] != "e" { // checklist 36
		t.Errorf("PermittedClaims = %v, want only email", got)
	}
}

func TestLifetimes_Validate(t *testing.T) {
	t.Parallel()
	if err := grant.DefaultLifetimes().Validate(); err != nil {
		t.Fatal(err)
	}
	l := grant.DefaultLifetimes()
	l.Code = 11 * time.Minute // checklist 16
	if l.Validate() == nil {
		t.Error("code lifetime over 10 minutes accepted")
	}
	l = grant.DefaultLifetimes()
	l.RefreshIdle = 0
	if l.Validate() == nil {
		t.Error("zero idle lifetime accepted")
	}
}

type fixture struct {
	client  *client.Client
	request *authreq.Request
	code    grant.Code
	raw     string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	c, _, err := client.New(client.Params{Type: client.Public, Name: "App", RedirectURIs: []string{"https://rp.example/cb"},
		AllowedScopes: scope.MustParse("openid email")}, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := authreq.NewID(rand.Reader)
	r, err := authreq.New(id, c, "https://rp.example/cb", authreq.Params{ResponseType: "code", Scope: "openid email",
		Nonce: "n", CodeChallenge: pkce.ChallengeFor(verifier).String()}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw := secret(t, grant.KindCode)
	if _, err := grant.NewCode(r, raw, dataToken, now, 0); !errors.Is(err, grant.ErrNotApproved) {
		t.Fatalf("NewCode for a pending request: %v", err)
	}
	if err := r.Complete("user-1", scope.MustParse("openid email"), now); err != nil {
		t.Fatal(err)
	}
	code, err := grant.NewCode(r, raw, dataToken, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !code.ExpiresAt.Equal(now.Add(grant.MaxCodeTTL)) || code.Subject != "user-1" || code.Nonce != "n" || code.Hash != grant.HashOf(raw) {
		t.Fatalf("NewCode: %+v", code)
	}
	return fixture{client: c, request: r, code: code, raw: raw}
}

func (f fixture) input(t *testing.T) grant.RedeemInput {
	in := grant.RedeemInput{RawCode: f.raw, ClientID: f.client.ID(), RedirectURI: "https://rp.example/cb",
		CodeVerifier: verifier, GrantID: "00000000-0000-4000-8000-000000000001",
		AccessToken: secret(t, grant.KindAccess), RefreshToken: secret(t, grant.KindRefresh),
		Now: now.Add(time.Minute), Lifetimes: grant.DefaultLifetimes()}
	return in
}

// TestRedeem checks the decision order of checklist 16–19: only a replay that passes every check
// revokes.
func TestRedeem(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	used := f.code
	used.UsedAt, used.GrantID = now, "g-1"
	tests := []struct {
		name       string
		code       grant.Code
		edit       func(*grant.RedeemInput)
		want       *oautherr.Error
		wantCause  error
		wantReplay bool
	}{
		{"OK", f.code, func(*grant.RedeemInput) {}, nil, nil, false},
		{"Expired", f.code, func(in *grant.RedeemInput) { in.Now = f.code.ExpiresAt }, oautherr.InvalidGrant, grant.ErrCodeExpired, false},                       // checklist 16
		{"OtherClient", f.code, func(in *grant.RedeemInput) { in.ClientID = "app_other" }, oautherr.InvalidGrant, grant.ErrClientMismatch, false},                // checklist 19
		{"OtherRedirect", f.code, func(in *grant.RedeemInput) { in.RedirectURI += "/" }, oautherr.InvalidGrant, grant.ErrRedirectURIMismatch, false},             // checklist 19
		{"WrongVerifier", f.code, func(in *grant.RedeemInput) { in.CodeVerifier = strings.Repeat("w", 43) }, oautherr.InvalidGrant, pkce.ErrMismatch, false},     // checklist 14
		{"MalformedVerifier", f.code, func(in *grant.RedeemInput) { in.CodeVerifier = "short" }, oautherr.InvalidGrant, pkce.ErrMalformedVerifier, false},        // checklist 13
		{"NoVerifier", f.code, func(in *grant.RedeemInput) { in.CodeVerifier = "" }, oautherr.InvalidRequest, pkce.ErrMissingVerifier, false},                    // checklist 14
		{"Replay", used, func(*grant.RedeemInput) {}, nil, nil, true},                                                                                            // checklist 17
		{"ReplayWrongVerifier", used, func(in *grant.RedeemInput) { in.CodeVerifier = strings.Repeat("w", 43) }, oautherr.InvalidGrant, pkce.ErrMismatch, false}, // checklist 18
		{"ReplayOtherClient", used, func(in *grant.RedeemInput) { in.ClientID = "app_other" }, oautherr.InvalidGrant, grant.ErrClientMismatch, false},            // checklist 18
		{"ReplayOtherRedirect", used, func(in *grant.RedeemInput) { in.RedirectURI = "https://x/cb" }, oautherr.InvalidGrant, grant.ErrRedirectURIMismatch, false},
		{"ReplayExpired", used, func(in *grant.RedeemInput) { in.Now = f.code.ExpiresAt.Add(time.Second) }, oautherr.InvalidGrant, grant.ErrCodeExpired, false},
		{"RawCodeMismatch", f.code, func(in *grant.RedeemInput) { in.RawCode = secret(t, grant.KindCode) }, oautherr.ServerError, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := f.input(t)
			tt.edit(&in)
			red, err := grant.Redeem(tt.code, in)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || (tt.wantCause != nil && !errors.Is(err, tt.wantCause)) {
					t.Fatalf("Redeem = %v, want %v (cause %v)", err, tt.want, tt.wantCause)
				}
				if red.Replay || red.Issue != nil {
					t.Fatalf("failed redemption still decided %+v", red)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantReplay {
				if !red.Replay || red.RevokeGrantID != "g-1" || red.Issue != nil || !red.At.Equal(in.Now) {
					t.Fatalf("replay = %+v", red)
				}
				return
			}
			iss := red.Issue
			if iss == nil || red.Replay {
				t.Fatalf("no tokens issued: %+v", red)
			}
			g := iss.Grant
			if g.ID != in.GrantID || g.Subject != "user-1" || g.ClientID != f.client.ID() || g.Nonce != "n" ||
				!g.ExpiresAt.Equal(in.Now.Add(grant.DefaultRefreshTokenTTL)) || !g.AuthTime.Equal(now) {
				t.Fatalf("grant = %+v", g)
			}
			if iss.Access.Hash != grant.HashOf(in.AccessToken) || !iss.Access.ExpiresAt.Equal(in.Now.Add(time.Hour)) ||
				!iss.Access.Active(g, in.Now) || iss.Access.Scope.String() != "openid email" {
				t.Fatalf("access token = %+v", iss.Access)
			}
			if iss.Refresh.Hash != grant.HashOf(in.RefreshToken) || !iss.Refresh.ExpiresAt.Equal(in.Now.Add(grant.DefaultRefreshIdleTTL)) {
				t.Fatalf("refresh token = %+v", iss.Refresh)
			}
			if iss.DataToken != dataToken {
				t.Fatalf("data token = %q", iss.DataToken)
			}
			for raw, sealed := range map[string][]byte{in.AccessToken: iss.Access.SealedDataToken, in.RefreshToken: iss.Refresh.SealedDataToken} {
				if got, err := grant.Open(raw, sealed); err != nil || got != dataToken {
					t.Fatalf("re-sealed data token: %q, %v", got, err)
				}
			}
		})
	}
}

func issued(t *testing.T) (fixture, grant.RedeemInput, *grant.Issued) {
	t.Helper()
	f := newFixture(t)
	in := f.input(t)
	red, err := grant.Redeem(f.code, in)
	if err != nil {
		t.Fatal(err)
	}
	return f, in, red.Issue
}

func TestRotate(t *testing.T) {
	t.Parallel()
	f, redeemed, iss := issued(t)
	rotated := iss.Refresh
	rotated.RotatedAt = redeemed.Now
	revoked := iss.Grant
	revoked.RevokedAt = redeemed.Now
	base := func(t *testing.T) grant.RotateInput {
		return grant.RotateInput{RawRefreshToken: redeemed.RefreshToken, ClientID: f.client.ID(),
			AccessToken: secret(t, grant.KindAccess), RefreshToken: secret(t, grant.KindRefresh),
			Now: redeemed.Now.Add(time.Hour), Lifetimes: grant.DefaultLifetimes()}
	}
	tests := []struct {
		name      string
		g         grant.Grant
		rt        grant.RefreshToken
		edit      func(*grant.RotateInput)
		want      *oautherr.Error
		wantCause error
		wantReuse bool
		wantScope string
	}{
		{"OK", iss.Grant, iss.Refresh, func(*grant.RotateInput) {}, nil, nil, false, "openid email"},
		{"Narrow", iss.Grant, iss.Refresh, func(in *grant.RotateInput) { in.Scope = scope.MustParse("email") }, nil, nil, false, "email"},
		{"NarrowBelowTheSharedClaims", iss.Grant, iss.Refresh, func(in *grant.RotateInput) { in.Scope = scope.MustParse("openid") }, nil, nil, false, "openid"},       // decision 13
		{"Widen", iss.Grant, iss.Refresh, func(in *grant.RotateInput) { in.Scope = scope.MustParse("email profile") }, oautherr.InvalidScope, nil, false, ""},         // checklist 29
		{"OtherClient", iss.Grant, iss.Refresh, func(in *grant.RotateInput) { in.ClientID = "app_other" }, oautherr.InvalidGrant, grant.ErrClientMismatch, false, ""}, // checklist 29
		{"Revoked", revoked, iss.Refresh, func(*grant.RotateInput) {}, oautherr.InvalidGrant, grant.ErrGrantRevoked, false, ""},
		{"Reuse", iss.Grant, rotated, func(*grant.RotateInput) {}, nil, nil, true, ""},                                                                                     // checklist 28
		{"ReuseOtherClient", iss.Grant, rotated, func(in *grant.RotateInput) { in.ClientID = "app_other" }, oautherr.InvalidGrant, grant.ErrClientMismatch, false, ""},     // no revocation
		{"IdleExpired", iss.Grant, iss.Refresh, func(in *grant.RotateInput) { in.Now = iss.Refresh.ExpiresAt }, oautherr.InvalidGrant, grant.ErrRefreshExpired, false, ""}, // checklist 30
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base(t)
			tt.edit(&in)
			rot, err := grant.Rotate(tt.g, tt.rt, in)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || (tt.wantCause != nil && !errors.Is(err, tt.wantCause)) {
					t.Fatalf("Rotate = %v, want %v (%v)", err, tt.want, tt.wantCause)
				}
				if rot.Reuse {
					t.Fatal("failed rotation asks for revocation")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rot.Reuse != tt.wantReuse {
				t.Fatalf("Reuse = %v", rot.Reuse)
			}
			if tt.wantReuse {
				return
			}
			wantDataToken := dataToken
			if tt.wantScope == "openid" {
				// The data token shares email, which openid does not permit: none is returned.
				wantDataToken = ""
			}
			if rot.Access.Scope.String() != tt.wantScope || rot.DataToken != wantDataToken || rot.Refresh.GrantID != iss.Grant.ID ||
				!rot.Refresh.ExpiresAt.Equal(in.Now.Add(grant.DefaultRefreshIdleTTL)) {
				t.Fatalf("rotation = %+v", rot)
			}
			if got, err := grant.Open(in.RefreshToken, rot.Refresh.SealedDataToken); err != nil || got != dataToken {
				t.Fatalf("re-sealed: %v", err)
			}
		})
	}
}

// TestRotate_AbsoluteExpiry: rotation never extends a grant past its absolute lifetime (checklist 30).
func TestRotate_AbsoluteExpiry(t *testing.T) {
	t.Parallel()
	f, redeemed, iss := issued(t)
	raw := redeemed.RefreshToken
	g, rt := iss.Grant, iss.Refresh
	at := redeemed.Now
	for i := 0; ; i++ {
		at = at.Add(grant.DefaultRefreshIdleTTL - time.Hour)
		in := grant.RotateInput{RawRefreshToken: raw, ClientID: f.client.ID(), AccessToken: secret(t, grant.KindAccess),
			RefreshToken: secret(t, grant.KindRefresh), Now: at, Lifetimes: grant.DefaultLifetimes()}
		rot, err := grant.Rotate(g, rt, in)
		if !at.Before(g.ExpiresAt) {
			if !errors.Is(err, grant.ErrRefreshExpired) {
				t.Fatalf("rotation %d after the grant's end: %v", i, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		if rot.Refresh.ExpiresAt.After(g.ExpiresAt) {
			t.Fatalf("rotation %d extended the grant: %v > %v", i, rot.Refresh.ExpiresAt, g.ExpiresAt)
		}
		raw, rt = in.RefreshToken, rot.Refresh
	}
}

// TestRetryCompletion: issue 15 — a completion retried by the same user, for the same scopes,
// with the same data token, while the code is unused and unexpired, gets the same raw code back;
// any difference makes it not a retry.
func TestRetryCompletion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	approved := scope.MustParse("openid email")
	later := now.Add(time.Minute)
	raw, err := grant.RetryCompletion(f.code, "user-1", approved, dataToken, later)
	if err != nil || raw != f.raw {
		t.Fatalf("retry = %q, %v; want the issued code", raw, err)
	}
	used := f.code
	used.UsedAt, used.GrantID = later, "g"
	legacy := f.code
	legacy.SealedForRetry = nil
	tampered := f.code
	tampered.SealedForRetry = append([]byte(nil), f.code.SealedForRetry...)
	tampered.SealedForRetry[len(tampered.SealedForRetry)-1] ^= 1
	for _, tc := range []struct {
		name      string
		code      grant.Code
		subject   string
		approved  scope.Set
		dataToken string
		at        time.Time
	}{
		{"OtherUser", f.code, "user-2", approved, dataToken, later},
		{"NoUser", f.code, "", approved, dataToken, later},
		{"OtherScopes", f.code, "user-1", scope.MustParse("openid"), dataToken, later},
		{"OtherDataToken", f.code, "user-1", approved, dataToken + "x", later},
		{"CodeUsed", used, "user-1", approved, dataToken, later},
		{"CodeExpired", f.code, "user-1", approved, dataToken, f.code.ExpiresAt},
		{"IssuedBeforeRetries", legacy, "user-1", approved, dataToken, later},
		{"Tampered", tampered, "user-1", approved, dataToken, later},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if raw, err := grant.RetryCompletion(tc.code, tc.subject, tc.approved, tc.dataToken, tc.at); !errors.Is(err, grant.ErrNotARetry) || raw != "" {
				t.Fatalf("RetryCompletion = %q, %v; want ErrNotARetry", raw, err)
			}
		})
	}
	// The sealed code is not the code in clear, and opens with nothing but the data token.
	if bytes.Contains(f.code.SealedForRetry, []byte(f.raw)) {
		t.Fatal("the raw code is stored in clear")
	}
	if _, err := grant.OpenCodeForRetry(f.raw, f.code.SealedForRetry); !errors.Is(err, grant.ErrUnseal) {
		t.Fatalf("opened with the code itself: %v", err)
	}
}
