package app

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Sessions live in process memory. That is fine for the demo, which is a single-process toy
// relying app that forgets its users on restart; it is not how an SVA service stores state.
// Keeping state, PKCE verifier, nonce and tokens server-side means the browser only ever holds
// an opaque random id.
const (
	sessionCookie = "sva_demo_session"
	// sessionTTL is both the idle lifetime of a session and the maximum age of a pending
	// sign-in (the provider's authorization requests also expire after 600 s).
	sessionTTL = 10 * time.Minute
	// maxSessions bounds memory: /login is unauthenticated, so each anonymous POST creates one.
	maxSessions = 10000
)

var errTooManySessions = errors.New("too many active sessions")

// pendingSignIn is what the callback needs to finish a sign-in started by /login.
type pendingSignIn struct {
	state    string
	verifier string
	nonce    string
	started  time.Time
}

// signedIn is the result of a completed sign-in.
type signedIn struct {
	token         *oauth2.Token
	subject       string
	sid           string // the ID token's sid, "" when it had none
	idTokenExpiry time.Time
	scopes        []string
	data          *dataToken
	// verifiedAt is when the demo verified the data token, at sign-in. The token proves the
	// claims as of then; the app keeps the claims, not the token (see the results page).
	verifiedAt time.Time
}

// refreshOutcome is shown once on the results page after "Refresh tokens".
type refreshOutcome struct {
	ok          bool
	code        string
	description string
}

// session is one browser's state. mu serialises that browser's requests so that, for example,
// a double-clicked "Refresh tokens" cannot present the same (rotating) refresh token twice,
// which the provider would treat as reuse and answer by revoking the grant.
type session struct {
	mu      sync.Mutex
	pending *pendingSignIn
	user    *signedIn
	refresh *refreshOutcome
	// logout is a "Sign out everywhere" waiting for the browser to come back.
	logout *pendingLogout
}

type sessionEntry struct {
	s       *session
	expires time.Time
	// owner is who signed in with this session (empty before sign-in): what a back-channel
	// logout matches.
	owner owner
}

// owner identifies a signed-in session's user at the provider: the ID token's sub, and its sid
// when the provider put one in.
type owner struct {
	subject, sid string
}

// sessionStore maps random cookie values to sessions.
type sessionStore struct {
	now    func() time.Time
	secure bool // set the Secure cookie attribute (the demo is served over https)

	mu        sync.Mutex
	m         map[string]*sessionEntry
	lastSweep time.Time
}

func newSessionStore(now func() time.Time, secure bool) *sessionStore {
	return &sessionStore{now: now, secure: secure, m: map[string]*sessionEntry{}}
}

// lookup returns the request's live session, extending its lifetime, or nil.
func (st *sessionStore) lookup(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.m[c.Value]
	now := st.now()
	if !ok || !now.Before(e.expires) {
		delete(st.m, c.Value)
		return "", nil
	}
	e.expires = now.Add(sessionTTL)
	return c.Value, e.s
}

// sessionOrHome returns the browser's session, or sends the browser to the home page (303) and
// returns a nil session: what the buttons of a signed-in page do without one.
func (s *server) sessionOrHome(w http.ResponseWriter, r *http.Request) (string, *session) {
	id, sess := s.sessions.lookup(r)
	if sess == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
	return id, sess
}

// create starts a new session and sets its cookie.
func (st *sessionStore) create(w http.ResponseWriter, s *session) error {
	id := randomToken()
	st.mu.Lock()
	now := st.now()
	st.sweepLocked(now)
	if len(st.m) >= maxSessions {
		st.mu.Unlock()
		return errTooManySessions
	}
	st.m[id] = &sessionEntry{s: s, expires: now.Add(sessionTTL)}
	st.mu.Unlock()
	st.setCookie(w, id, int(sessionTTL/time.Second))
	return nil
}

// rotate moves a session to a fresh id (on sign-in, so an id seen before authentication is
// worthless afterwards), records who signed in, and sets the new cookie.
func (st *sessionStore) rotate(w http.ResponseWriter, oldID string, s *session, who owner) {
	id := randomToken()
	st.mu.Lock()
	delete(st.m, oldID)
	st.m[id] = &sessionEntry{s: s, expires: st.now().Add(sessionTTL), owner: who}
	st.mu.Unlock()
	st.setCookie(w, id, int(sessionTTL/time.Second))
}

// destroy forgets the session and clears the cookie.
func (st *sessionStore) destroy(w http.ResponseWriter, id string) {
	st.forget(id)
	st.setCookie(w, "", -1)
}

// forget drops the session without touching the cookie (a new one is about to be set).
func (st *sessionStore) forget(id string) {
	st.mu.Lock()
	delete(st.m, id)
	st.mu.Unlock()
}

// endSessionsOf forgets the sessions a back-channel logout names and returns how many: with a
// sid, the session signed in under that SVA session (a session whose ID token carried no sid
// is matched by sub); without one, every session of sub. A token naming both must match both.
func (st *sessionStore) endSessionsOf(subject, sid string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for id, e := range st.m {
		o := e.owner
		if o.subject == "" && o.sid == "" {
			continue // not signed in
		}
		if subject != "" && o.subject != subject {
			continue
		}
		if sid != "" && o.sid != "" && o.sid != sid {
			continue
		}
		if subject == "" && o.sid != sid {
			continue // a sid-only token needs the session's sid
		}
		delete(st.m, id)
		n++
	}
	return n
}

// sweepLocked drops expired sessions, at most once a minute.
func (st *sessionStore) sweepLocked(now time.Time) {
	if now.Sub(st.lastSweep) < time.Minute {
		return
	}
	st.lastSweep = now
	for id, e := range st.m {
		if !now.Before(e.expires) {
			delete(st.m, id)
		}
	}
}

func (st *sessionStore) setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   st.secure,
		// Lax, not Strict: the provider's redirect back to /callback is a cross-site top-level
		// navigation, and the session cookie must travel with it.
		SameSite: http.SameSiteLaxMode,
	})
}

// randomToken returns 256 random bits, base64url encoded. crypto/rand.Read never fails (it
// crashes the program if the OS cannot supply randomness).
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
