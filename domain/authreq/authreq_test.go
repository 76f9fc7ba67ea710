package authreq_test

import (
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/prompt"
	"github.com/sva-oauth/sva/domain/scope"
)

var (
	now       = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	challenge = pkce.ChallengeFor(strings.Repeat("v", 43)).String()
)

func newClient(t *testing.T) *client.Client {
	t.Helper()
	c, _, err := client.New(client.Params{Type: client.Confidential, Name: "App",
		RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: scope.MustParse("openid email profile")}, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func valid() authreq.Params {
	return authreq.Params{ResponseType: "code", Scope: "openid email", State: "s", Nonce: "n",
		CodeChallenge: challenge, CodeChallengeMethod: "S256"}
}

func newRequest(t *testing.T) *authreq.Request {
	t.Helper()
	id, _ := authreq.NewID(rand.Reader)
	r, err := authreq.New(id, newClient(t), "https://rp.example/cb", valid(), now, 0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNew(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	tests := []struct {
		name string
		edit func(*authreq.Params)
		want *oautherr.Error
	}{
		{"OK", func(*authreq.Params) {}, nil},
		{"NoResponseType", func(p *authreq.Params) { p.ResponseType = "" }, oautherr.InvalidRequest},
		{"Implicit", func(p *authreq.Params) { p.ResponseType = "token" }, oautherr.UnsupportedResponseType},       // checklist 10
		{"Hybrid", func(p *authreq.Params) { p.ResponseType = "code id_token" }, oautherr.UnsupportedResponseType}, // checklist 10
		{"NoChallenge", func(p *authreq.Params) { p.CodeChallenge = "" }, oautherr.InvalidRequest},                 // checklist 11
		{"Plain", func(p *authreq.Params) { p.CodeChallengeMethod = "plain" }, oautherr.InvalidRequest},            // checklist 12
		{"BadChallenge", func(p *authreq.Params) { p.CodeChallenge = "short" }, oautherr.InvalidRequest},
		{"NoScope", func(p *authreq.Params) { p.Scope = "" }, oautherr.InvalidScope},
		{"UnknownScope", func(p *authreq.Params) { p.Scope = "openid admin" }, oautherr.InvalidScope},
		{"NotAllowedScope", func(p *authreq.Params) { p.Scope = "openid phone" }, oautherr.InvalidScope}, // decision 5
		{"LongState", func(p *authreq.Params) { p.State = strings.Repeat("s", authreq.MaxStateLen+1) }, oautherr.InvalidRequest},
		{"LongNonce", func(p *authreq.Params) { p.Nonce = strings.Repeat("n", authreq.MaxNonceLen+1) }, oautherr.InvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.edit(&p)
			id, _ := authreq.NewID(rand.Reader)
			r, err := authreq.New(id, c, "https://rp.example/cb", p, now, time.Minute)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if r.Status(now) != authreq.StatusPending || !r.ExpiresAt().Equal(now.Add(time.Minute)) {
					t.Errorf("status %s, expires %v", r.Status(now), r.ExpiresAt())
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNew_KeepsStateByteForByte(t *testing.T) { // checklist 5
	t.Parallel()
	p := valid()
	p.State = "ünï/cødé ?&=#%00\U0001F600<>" + strings.Repeat("x", 1000)
	id, _ := authreq.NewID(rand.Reader)
	r, err := authreq.New(id, newClient(t), "https://rp.example/cb", p, now, 0)
	if err != nil || r.State() != p.State || r.Nonce() != "n" {
		t.Fatalf("state %q, err %v", r.State(), err)
	}
	if !r.ExpiresAt().Equal(now.Add(authreq.DefaultTTL)) {
		t.Errorf("default TTL: expires %v", r.ExpiresAt())
	}
}

// TestNew_RefusesStateOrNonceItCouldNotReturnExactly: invalid UTF-8 or a control character in
// state or nonce is invalid_request (security rule 50, decision 26).
func TestNew_RefusesStateOrNonceItCouldNotReturnExactly(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"\xff\xfe", "a\x00b", "a\nb", "\x7f", "\u0085"} {
		for _, field := range []string{"state", "nonce"} {
			p := valid()
			if field == "state" {
				p.State = bad
			} else {
				p.Nonce = bad
			}
			id, _ := authreq.NewID(rand.Reader)
			_, err := authreq.New(id, newClient(t), "https://rp.example/cb", p, now, 0)
			if !errors.Is(err, oautherr.InvalidRequest) || !strings.Contains(err.Error(), field) {
				t.Errorf("%s=%q: err %v, want invalid_request naming %s", field, bad, err, field)
			}
		}
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	id, err := authreq.NewID(rand.Reader)
	if err != nil || len(id) != 36 || id[14] != '4' {
		t.Fatalf("NewID = %q, %v", id, err)
	}
	if got, err := authreq.ParseID(strings.ToUpper(id)); err != nil || got != id {
		t.Errorf("ParseID(upper) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "nope", id + "0", strings.ReplaceAll(id, "-", "_"), "g" + id[1:]} {
		if _, err := authreq.ParseID(bad); !errors.Is(err, authreq.ErrInvalidID) {
			t.Errorf("ParseID(%q) = %v", bad, err)
		}
	}
}

func TestRequest_Transitions(t *testing.T) {
	t.Parallel()
	later := now.Add(time.Minute)
	tests := []struct {
		name       string
		act        func(*authreq.Request) error
		want       error
		wantStatus authreq.Status
	}{
		{"Approve", func(r *authreq.Request) error { return r.Complete("u", scope.MustParse("email"), later) }, nil, authreq.StatusApproved},
		{"ApproveAll", func(r *authreq.Request) error { return r.Complete("u", scope.MustParse("openid email"), later) }, nil, authreq.StatusApproved},
		{"EmptyApprovalDenies", func(r *authreq.Request) error { return r.Complete("u", scope.Set{}, later) }, nil, authreq.StatusDenied}, // decision 4
		{"Deny", func(r *authreq.Request) error { return r.Deny("u", later) }, nil, authreq.StatusDenied},
		{"ApproveUnrequested", func(r *authreq.Request) error { return r.Complete("u", scope.MustParse("email profile"), later) }, authreq.ErrScopeNotRequested, authreq.StatusPending}, // checklist 43
		{"NoSubject", func(r *authreq.Request) error { return r.Complete("", scope.MustParse("email"), later) }, authreq.ErrNoSubject, authreq.StatusPending},
		{"DenyNoSubject", func(r *authreq.Request) error { return r.Deny("", later) }, authreq.ErrNoSubject, authreq.StatusPending},
		{"ApproveExpired", func(r *authreq.Request) error {
			return r.Complete("u", scope.MustParse("email"), now.Add(authreq.DefaultTTL))
		}, authreq.ErrExpired, authreq.StatusPending},
		{"DenyExpired", func(r *authreq.Request) error { return r.Deny("u", now.Add(authreq.DefaultTTL+time.Second)) }, authreq.ErrExpired, authreq.StatusPending},
		{"ApproveTwice", func(r *authreq.Request) error {
			_ = r.Complete("u", scope.MustParse("email"), later)
			return r.Complete("u", scope.MustParse("email"), later)
		}, authreq.ErrNotPending, authreq.StatusApproved}, // checklist 43
		{"DenyAfterApprove", func(r *authreq.Request) error {
			_ = r.Complete("u", scope.MustParse("email"), later)
			return r.Deny("u", later)
		}, authreq.ErrNotPending, authreq.StatusApproved},
		{"ApproveAfterExpire", func(r *authreq.Request) error {
			r.Expire(now.Add(authreq.DefaultTTL))
			return r.Complete("u", scope.MustParse("email"), later)
		}, authreq.ErrNotPending, authreq.StatusExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t)
			before := r.Snapshot()
			err := tt.act(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if got := r.Snapshot().Status; got != tt.wantStatus {
				t.Fatalf("status = %s, want %s", got, tt.wantStatus)
			}
			if tt.want != nil && tt.wantStatus == authreq.StatusPending && !reflect.DeepEqual(r.Snapshot(), before) {
				t.Fatalf("failed transition changed the request")
			}
			if tt.wantStatus == authreq.StatusApproved && (r.Subject() != "u" || !r.DecidedAt().Equal(later) || r.ApprovedScope().IsEmpty()) {
				t.Fatalf("approval not recorded: %+v", r.Snapshot())
			}
			if tt.wantStatus == authreq.StatusDenied && (r.Subject() != "u" || !r.ApprovedScope().IsEmpty()) {
				t.Fatalf("denial not recorded: %+v", r.Snapshot())
			}
		})
	}
}

// TestRequest_DeniedBy: issue 15 — a denial repeated by the same user is recognised as the same
// decision; nobody else's, and no other decision, is.
func TestRequest_DeniedBy(t *testing.T) {
	t.Parallel()
	later := now.Add(time.Minute)
	denied := newRequest(t)
	if denied.DeniedBy("u") {
		t.Fatal("a pending request counts as denied")
	}
	if err := denied.Deny("u", later); err != nil {
		t.Fatal(err)
	}
	emptyApproval := newRequest(t)
	if err := emptyApproval.Complete("u", scope.Set{}, later); err != nil {
		t.Fatal(err)
	}
	approved := newRequest(t)
	if err := approved.Complete("u", scope.MustParse("email"), later); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		r       *authreq.Request
		subject string
		want    bool
	}{
		{"SameUser", denied, "u", true},
		{"EmptyApprovalIsADenial", emptyApproval, "u", true},
		{"OtherUser", denied, "v", false},
		{"NoUser", denied, "", false},
		{"Approved", approved, "u", false},
	} {
		if got := tc.r.DeniedBy(tc.subject); got != tc.want {
			t.Errorf("%s: DeniedBy = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRequest_Expiry(t *testing.T) {
	t.Parallel()
	r := newRequest(t)
	end := r.ExpiresAt()
	if r.Status(end.Add(-time.Microsecond)) != authreq.StatusPending || r.Status(end) != authreq.StatusExpired {
		t.Fatal("Status does not derive expiry at expires_at")
	}
	if r.Expire(end.Add(-time.Second)) {
		t.Fatal("Expire before expires_at")
	}
	if !r.Expire(end) || r.Expire(end) {
		t.Fatal("Expire should change once")
	}
	if r.Snapshot().Status != authreq.StatusExpired {
		t.Fatal("stored status not expired")
	}
}

func TestRehydrate(t *testing.T) {
	t.Parallel()
	r := newRequest(t)
	_ = r.Complete("u", scope.MustParse("email"), now)
	back, err := authreq.Rehydrate(r.Snapshot())
	if err != nil || !reflect.DeepEqual(back.Snapshot(), r.Snapshot()) {
		t.Fatalf("Rehydrate: %v", err)
	}
	bad := []func(*authreq.Snapshot){
		func(s *authreq.Snapshot) { s.Status = "weird" },
		func(s *authreq.Snapshot) { s.Challenge = "" },
		func(s *authreq.Snapshot) { s.Subject = "" },
		func(s *authreq.Snapshot) { s.ApprovedScope = scope.MustParse("profile") },
		func(s *authreq.Snapshot) { s.Status = authreq.StatusPending },
		func(s *authreq.Snapshot) { s.ID = "x" },
	}
	for i, edit := range bad {
		s := r.Snapshot()
		edit(&s)
		if _, err := authreq.Rehydrate(s); err == nil {
			t.Errorf("case %d: Rehydrate accepted %+v", i, s)
		}
	}
}

// TestNew_CanonicalID: New keeps the id in the canonical lower-case form that ParseID and
// Rehydrate return, so a request created with an upper-case id does not change id on reload.
func TestNew_CanonicalID(t *testing.T) {
	t.Parallel()
	id, _ := authreq.NewID(rand.Reader)
	r, err := authreq.New(strings.ToUpper(id), newClient(t), "https://rp.example/cb", valid(), now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID() != id {
		t.Fatalf("ID() = %q, want %q", r.ID(), id)
	}
	back, err := authreq.Rehydrate(r.Snapshot())
	if err != nil || back.ID() != r.ID() {
		t.Fatalf("Rehydrate: id %v, err %v; want %q", back, err, r.ID())
	}
}

func TestNew_PromptAndMaxAge(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for _, tc := range []struct {
		prompt, maxAge string
		want           *oautherr.Error
	}{
		{"none", "", nil},
		{"login consent", "0", nil},
		{"select_account", "10000", nil},
		{"none login", "", oautherr.InvalidRequest},
		{"none consent", "", oautherr.InvalidRequest},
		{"bogus", "", oautherr.InvalidRequest},
		{"", "-1", oautherr.InvalidRequest},
		{"", "soon", oautherr.InvalidRequest},
	} {
		p := valid()
		p.Prompt, p.MaxAge = tc.prompt, tc.maxAge
		id, _ := authreq.NewID(rand.Reader)
		_, err := authreq.New(id, c, "https://rp.example/cb", p, now, 0)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("prompt %q max_age %q: err = %v, want %v", tc.prompt, tc.maxAge, err, tc.want)
		}
	}
}

func TestRequest_CompleteSignedIn(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	approved := scope.MustParse("openid")
	newWith := func(edit func(*authreq.Params)) *authreq.Request {
		p := valid()
		edit(&p)
		id, _ := authreq.NewID(rand.Reader)
		r, err := authreq.New(id, c, "https://rp.example/cb", p, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	later := now.Add(time.Minute)
	// prompt=login: a session from before the request is refused, one signed in since is taken.
	r := newWith(func(p *authreq.Params) { p.Prompt = "login" })
	if err := r.CompleteSignedIn("u1", now.Add(-time.Hour), "", approved, later); !errors.Is(err, prompt.ErrFreshSignInRequired) || r.Status(later) != authreq.StatusPending {
		t.Fatalf("prompt=login with an old sign-in: %v, status %s", err, r.Status(later))
	}
	signedIn := now.Add(10*time.Second + 500*time.Millisecond)
	if err := r.CompleteSignedIn("u1", signedIn, "", approved, later); err != nil || !r.IsApproved() {
		t.Fatalf("prompt=login with a fresh sign-in: %v", err)
	}
	if got := r.AuthTime(); !got.Equal(now.Add(10 * time.Second)) {
		t.Errorf("AuthTime = %v, want the sign-in in whole seconds", got)
	}
	// The approval's auth_time reaches the code (and so the ID token).
	code, err := grant.NewCode(r, mustSecret(t), "tok", later, time.Minute)
	if err != nil || !code.AuthTime.Equal(r.AuthTime()) {
		t.Errorf("code auth_time = %v, %v; want %v", code.AuthTime, err, r.AuthTime())
	}
	// id_token_hint names another user.
	r = newWith(func(p *authreq.Params) { p.HintSubject = "u2" })
	if err := r.CompleteSignedIn("u1", later, "", approved, later); !errors.Is(err, prompt.ErrSubjectMismatch) {
		t.Errorf("hint mismatch: %v", err)
	}
	// max_age exceeded.
	r = newWith(func(p *authreq.Params) { p.MaxAge = "60" })
	if err := r.CompleteSignedIn("u1", later.Add(-2*time.Minute), "", approved, later); !errors.Is(err, prompt.ErrFreshSignInRequired) {
		t.Errorf("max_age exceeded: %v", err)
	}
	// Without requirements an unknown sign-in time is accepted and auth_time is the approval's.
	r = newWith(func(*authreq.Params) {})
	if err := r.CompleteSignedIn("u1", time.Time{}, "", approved, later); err != nil || !r.AuthTime().Equal(later) {
		t.Errorf("no requirements: %v, auth_time %v", err, r.AuthTime())
	}
	// The requirements survive storage.
	r = newWith(func(p *authreq.Params) { p.Prompt, p.MaxAge, p.HintSubject = "consent login", "0", "u1" })
	back, err := authreq.Rehydrate(r.Snapshot())
	if err != nil || !reflect.DeepEqual(back.Snapshot(), r.Snapshot()) || back.Requirements() != r.Requirements() {
		t.Errorf("Rehydrate: %v\n got %+v\nwant %+v", err, back.Snapshot(), r.Snapshot())
	}
}

func mustSecret(t *testing.T) string {
	t.Helper()
	s, err := grant.NewSecret(rand.Reader, grant.KindCode)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRequest_FailSilently(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	newWith := func(promptValue string) *authreq.Request {
		p := valid()
		p.Prompt = promptValue
		id, _ := authreq.NewID(rand.Reader)
		r, err := authreq.New(id, c, "https://rp.example/cb", p, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := newWith("login").FailSilently("login_required", "", now); !errors.Is(err, authreq.ErrNotSilent) {
		t.Errorf("prompt=login: %v, want ErrNotSilent", err)
	}
	if err := newWith("none").FailSilently("access_denied", "", now); !errors.Is(err, authreq.ErrUnknownFailure) {
		t.Errorf("access_denied: %v, want ErrUnknownFailure", err)
	}
	r := newWith("none")
	if err := r.FailSilently("login_required", "", now.Add(time.Hour)); !errors.Is(err, authreq.ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if err := r.FailSilently("login_required", "", now); err != nil || r.Status(now) != authreq.StatusDenied ||
		!r.FailedSilentlyWith("login_required") || r.FailedSilentlyWith("consent_required") || r.Subject() != "" {
		t.Fatalf("FailSilently: %v, status %s, failure %q", err, r.Status(now), r.Failure())
	}
	if err := r.FailSilently("login_required", "", now); !errors.Is(err, authreq.ErrNotPending) {
		t.Errorf("second failure: %v, want ErrNotPending", err)
	}
	if err := r.Complete("u1", scope.MustParse("openid"), now); !errors.Is(err, authreq.ErrNotPending) {
		t.Errorf("approval after failure: %v", err)
	}
	back, err := authreq.Rehydrate(r.Snapshot())
	if err != nil || back.Failure() != "login_required" {
		t.Fatalf("Rehydrate of a failed request: %v", err)
	}
	// A failure is only ever a denied prompt=none request's.
	snap := newWith("consent").Snapshot()
	snap.Status, snap.Failure = authreq.StatusDenied, "login_required"
	if _, err := authreq.Rehydrate(snap); err == nil {
		t.Error("Rehydrate accepted a failure on a prompt=consent request")
	}
	signedIn := newWith("none")
	if err := signedIn.FailSilently("consent_required", "u1", now); err != nil || signedIn.Subject() != "u1" {
		t.Errorf("consent_required for u1: %v, subject %q", err, signedIn.Subject())
	}
}

func TestRequest_CompleteSignedIn_SessionID(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	approved := scope.MustParse("openid")
	fresh := func() *authreq.Request {
		id, _ := authreq.NewID(rand.Reader)
		r, err := authreq.New(id, c, "https://rp.example/cb", valid(), now, 0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	later := now.Add(time.Minute)
	for _, bad := range []string{strings.Repeat("s", authreq.MaxSessionIDLen+1), "sid with space", "sid\x00", "sïd"} {
		r := fresh()
		if err := r.CompleteSignedIn("u1", now, bad, approved, later); !errors.Is(err, authreq.ErrInvalidSessionID) || r.Status(later) != authreq.StatusPending {
			t.Errorf("sid %q: %v, status %s", bad, err, r.Status(later))
		}
	}
	r := fresh()
	if err := r.CompleteSignedIn("u1", now, "sid-1_AZaz09~.", approved, later); err != nil || r.SessionID() != "sid-1_AZaz09~." {
		t.Fatalf("valid sid: %v, SessionID %q", err, r.SessionID())
	}
	// The sid reaches the code (and so the grant and its ID tokens) and survives storage.
	code, err := grant.NewCode(r, mustSecret(t), "tok", later, time.Minute)
	if err != nil || code.SessionID != "sid-1_AZaz09~." {
		t.Errorf("code sid = %q, %v", code.SessionID, err)
	}
	back, err := authreq.Rehydrate(r.Snapshot())
	if err != nil || back.SessionID() != r.SessionID() {
		t.Errorf("Rehydrate: %v, sid %q", err, back.SessionID())
	}
	// A denial records no session; a stored sid on an undecided request is corruption.
	d := fresh()
	if err := d.CompleteSignedIn("u1", now, "sid-2", scope.Set{}, later); err != nil || d.SessionID() != "" {
		t.Errorf("denial: %v, sid %q", err, d.SessionID())
	}
	s := fresh().Snapshot()
	s.SessionID = "sid-3"
	if _, err := authreq.Rehydrate(s); err == nil {
		t.Error("a pending request with a session id rehydrated")
	}
}
