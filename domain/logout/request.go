package logout

import (
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/textinput"
)

// A logout request is one RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) from the
// moment the end-session endpoint accepts it until the consent UI has signed the browser out of
// Core and the provider sends it back to the relying app. It is single-use and short-lived:
//
//	pending --> completed: Complete(subject) before expires_at
//	pending --> expired:   at expires_at (derived; never completed after)

// RequestStatus is where a logout request stands.
type RequestStatus string

// Logout request states.
const (
	RequestPending   RequestStatus = "pending"
	RequestCompleted RequestStatus = "completed"
	RequestExpired   RequestStatus = "expired"
)

// DefaultRequestTTL is how long the person has to confirm a sign-out.
const DefaultRequestTTL = 10 * time.Minute

// Errors of logout request transitions.
var (
	ErrRequestNotPending = errors.New("logout: logout request already completed")
	ErrRequestExpired    = errors.New("logout: logout request has expired")
)

// RequestParams are the end-session parameters once the id_token_hint (if any) is verified.
type RequestParams struct {
	// ClientID is the client_id parameter ("" when absent).
	ClientID string
	// Hint is the verified id_token_hint's subject and audience; zero when no hint was sent.
	Hint Hint
	// PostLogoutRedirectURI is the post_logout_redirect_uri parameter ("" when absent).
	PostLogoutRedirectURI string
	// State is returned with the redirect, byte for byte.
	State string
}

// Hint is what a verified id_token_hint says: who the relying app believes is signed in, and
// for which client(s) the ID token was issued.
type Hint struct {
	Subject  string
	Audience []string
}

// ClientFor returns the client the request is from: client_id, or else the hint's single
// audience; "" when neither names one. A client_id the hint was not issued to is invalid_request
// (RP-Initiated Logout §2: "the OP … MUST verify that it matches the ID Token's aud").
func (p RequestParams) ClientFor() (string, error) {
	switch {
	case p.ClientID != "" && p.Hint.Subject != "" && !slices.Contains(p.Hint.Audience, p.ClientID):
		return "", oautherr.InvalidRequest.WithDescription("id_token_hint was not issued to client_id")
	case p.ClientID != "":
		return p.ClientID, nil
	case len(p.Hint.Audience) == 1:
		return p.Hint.Audience[0], nil
	}
	return "", nil
}

// Request is one logout request. Change it only through Complete.
type Request struct {
	ID                    string
	ClientID              string // "" when the relying app did not identify itself
	PostLogoutRedirectURI string // "" for none: the consent UI shows "signed out"
	State                 string
	HintSubject           string // the verified id_token_hint's sub; "" when none
	Status                RequestStatus
	Subject               string // who was signed out ("" before completion or when nobody was)
	CreatedAt             time.Time
	ExpiresAt             time.Time
	CompletedAt           time.Time
}

// NewRequest validates an end-session request for c (nil when the request names no client; then
// no post_logout_redirect_uri is allowed, as there is no list to check it against). Errors are
// *oautherr.Error invalid_request values that must be shown, never redirected: a redirect URI is
// only trusted once it matched the client's registered list exactly.
func NewRequest(id string, c *client.Client, p RequestParams, now time.Time, ttl time.Duration) (*Request, error) {
	id, err := authreq.ParseID(id)
	if err != nil {
		return nil, oautherr.ServerError.WithCause(err)
	}
	if len(p.State) > authreq.MaxStateLen {
		return nil, oautherr.InvalidRequest.WithDescriptionf("state must be at most %d bytes", authreq.MaxStateLen)
	}
	if err := textinput.Check(p.State); err != nil {
		return nil, oautherr.InvalidRequest.WithDescription("state must be valid UTF-8 without control characters").WithCause(err)
	}
	if p.PostLogoutRedirectURI != "" {
		if c == nil {
			return nil, oautherr.InvalidRequest.WithDescription("post_logout_redirect_uri needs client_id or id_token_hint")
		}
		if !c.AllowsPostLogoutRedirectURI(p.PostLogoutRedirectURI) {
			return nil, oautherr.InvalidRequest.WithDescription("post_logout_redirect_uri is not registered for this client")
		}
	}
	if ttl <= 0 {
		ttl = DefaultRequestTTL
	}
	r := &Request{ID: id, PostLogoutRedirectURI: p.PostLogoutRedirectURI, State: p.State, HintSubject: p.Hint.Subject,
		Status: RequestPending, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if c != nil {
		r.ClientID = c.ID()
	}
	return r, nil
}

// StatusAt is the request's status at now: a pending request past its expiry is expired.
func (r *Request) StatusAt(now time.Time) RequestStatus {
	if r.Status == RequestPending && !now.Before(r.ExpiresAt) {
		return RequestExpired
	}
	return r.Status
}

// Complete records that the browser was signed out; subject is the user whose Core session
// ended ("" when the browser had none).
func (r *Request) Complete(subject string, now time.Time) error {
	switch r.StatusAt(now) {
	case RequestPending:
	case RequestExpired:
		return ErrRequestExpired
	default:
		return ErrRequestNotPending
	}
	r.Status, r.Subject, r.CompletedAt = RequestCompleted, subject, now
	return nil
}

// ReturnURL is where the browser goes after the sign-out: the post-logout redirect URI with
// state added to its query (RP-Initiated Logout §3), or "" when the relying app gave none.
func (r *Request) ReturnURL() string {
	if r.PostLogoutRedirectURI == "" {
		return ""
	}
	if r.State == "" {
		return r.PostLogoutRedirectURI
	}
	// The registered URI's own query is kept byte for byte; state is appended to it.
	sep := "?"
	if u, err := url.Parse(r.PostLogoutRedirectURI); err == nil && u.RawQuery != "" {
		sep = "&"
	} else if err == nil && u.ForceQuery {
		sep = ""
	}
	return r.PostLogoutRedirectURI + sep + url.Values{"state": {r.State}}.Encode()
}

// NeedsConfirmation decides whether the sign-out page asks the person before ending the session
// of signedIn (the signed-in user, "" when the browser has no session): only a relying app that
// proved, with an ID token naming this very user, that it speaks for the person may sign them
// out without a question (RP-Initiated Logout §2: "the OP SHOULD ask the End-User whether to
// log out" unless the hint identifies the signed-in user). A browser without a session has
// nothing to lose, so nothing is asked.
func NeedsConfirmation(hintSubject, signedIn string) bool {
	return signedIn != "" && hintSubject != signedIn
}
