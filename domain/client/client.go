// Package client models the applications registered with the provider (decision 16): confidential
// clients authenticate with a generated secret, public clients (browser and native apps) with their
// client_id alone and rely on PKCE. It owns the rules the authorization and token endpoints depend
// on: exact redirect-URI matching (checklist 1), secret hashing and constant-time verification
// (checklist 25), the scopes a client may request (decision 5) and what its consent screen shows.
package client

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/domain/scope"
)

// Type says how a client authenticates at the token endpoint.
type Type string

// Client types (RFC 6749 §2.1).
const (
	// Confidential clients hold a secret (client_secret_basic or client_secret_post).
	Confidential Type = "confidential"
	// Public clients cannot keep a secret; PKCE protects their codes.
	Public Type = "public"
)

// Limits on registration data. They keep rows and consent pages bounded.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 500
	MaxURILen         = 2000
	MaxRedirectURIs   = 20
	// secretBytes and idBytes give 256 bits of entropy (checklist 27 asks for ≥ 128).
	secretBytes = 32
	idBytes     = 32
	// IDPrefix starts every generated client_id (the original SVA format: "app_" + token_urlsafe(32)).
	IDPrefix = "app_"
)

// Errors returned by this package.
var (
	ErrInvalid = errors.New("client: invalid registration")
	// ErrRedirectURIMismatch is returned when a redirect_uri is not registered for the client.
	ErrRedirectURIMismatch = errors.New("client: redirect_uri is not registered for this client")
	// ErrTypeChange is returned when an update tries to turn a public client into a confidential
	// one or back: the secret handling differs, so the client must be registered anew.
	ErrTypeChange = errors.New("client: type cannot be changed")
	// ErrPublicClient is returned when a secret operation is asked of a public client.
	ErrPublicClient = errors.New("client: public clients have no secret")
	// ErrNoSecret is returned when a secret operation is asked of a confidential client that
	// authenticates with a signed JWT (private_key_jwt) instead of a secret.
	ErrNoSecret = errors.New("client: the client authenticates with private_key_jwt and has no secret")
	// ErrAuthMethodChange is returned when an update would move a private_key_jwt client to a
	// secret method: it has no secret, so it must be registered anew.
	ErrAuthMethodChange = errors.New("client: a private_key_jwt client cannot switch to a secret; register a new client")
	// ErrAuthMethodMismatch is returned when a client authenticates with a method it is not
	// registered for (RFC 7591 §2 token_endpoint_auth_method).
	ErrAuthMethodMismatch = errors.New("client: authentication method not registered for this client")
)

// AuthMethod is how a client authenticates at the token, revocation and introspection
// endpoints (RFC 7591 §2 token_endpoint_auth_method). A client is registered for exactly one.
type AuthMethod string

// Client authentication methods.
const (
	// AuthSecretBasic: the generated secret in HTTP Basic (the default of confidential clients).
	AuthSecretBasic AuthMethod = "client_secret_basic"
	// AuthSecretPost: the generated secret as the client_secret form field.
	AuthSecretPost AuthMethod = "client_secret_post"
	// AuthPrivateKeyJWT: a JWT signed with a key of the client's jwks or jwks_uri (RFC 7523).
	AuthPrivateKeyJWT AuthMethod = "private_key_jwt"
	// AuthNone: client_id only — public clients, whose codes PKCE protects.
	AuthNone AuthMethod = "none"
)

// AuthMethods lists every method, in the order discovery advertises them.
func AuthMethods() []AuthMethod {
	return []AuthMethod{AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT, AuthNone}
}

// usesSecret reports whether the method authenticates with the generated secret.
func (m AuthMethod) usesSecret() bool { return m == AuthSecretBasic || m == AuthSecretPost }

// Keys are where a private_key_jwt client's public keys are: exactly one of JWKS (the JWK Set
// document itself) and JWKSURI (an https URL the provider fetches it from) is set.
type Keys struct {
	JWKS    string
	JWKSURI string
}

// ScopeReason is what the consent screen says about one scope: Description replaces the
// catalogue's default text, Reason is the client's justification for asking.
type ScopeReason struct {
	Description string
	Reason      string
}

// Params are the fields an administrator sets when registering or editing a client.
type Params struct {
	Type          Type
	Name          string
	Description   string
	LogoURL       string
	RedirectURIs  []string
	AllowedScopes scope.Set
	// ScopeReasons is keyed by scope; every key must be one of AllowedScopes.
	ScopeReasons map[scope.Name]ScopeReason
	// RequiredScopes are the allowed scopes the app cannot work without. The consent screen
	// pre-ticks only these on a first consent; the person opts in to every other scope
	// (decision: required scopes). The person may still untick them: the app learns what was
	// approved from the token response's scope.
	RequiredScopes scope.Set

	// OpenID Connect registration metadata (OpenID Connect Dynamic Client Registration §2,
	// RP-Initiated Logout §3.1, Back-Channel Logout §2.2, RFC 9126 §6).

	// Logout says where the client may be sent back after RP-initiated logout and where the
	// provider POSTs back-channel logout tokens.
	Logout Logout
	// RequirePushedAuthorizationRequests: the authorization endpoint accepts this client's
	// requests only through a request_uri from the PAR endpoint (RFC 9126 §6).
	RequirePushedAuthorizationRequests bool
	// RequireAuthTime: every ID token issued to the client carries auth_time (OIDC Registration
	// require_auth_time).
	RequireAuthTime bool

	// AuthMethod is the client's token_endpoint_auth_method. On New "" means client_secret_basic
	// for a confidential client and none for a public one; on Update "" keeps the current one.
	AuthMethod AuthMethod
	// Keys are the public keys of a private_key_jwt client (empty for every other method).
	Keys Keys
	// IDTokenSignedResponseAlg is the algorithm of the client's ID tokens (OIDC Registration
	// id_token_signed_response_alg): keys.AlgorithmES256 (the default, also for "") or
	// keys.AlgorithmRS256, the algorithm OpenID Connect Discovery requires every provider to offer.
	IDTokenSignedResponseAlg string
	// GrantTypes the client may use. On New nil means DefaultGrantTypes; on Update nil keeps them.
	GrantTypes []GrantType
	// MachineScopes are the scopes a client_credentials token may carry (never catalogue
	// scopes). On Update nil keeps them unless GrantTypes is given.
	MachineScopes []string
}

// Logout is a client's logout registration.
type Logout struct {
	// PostLogoutRedirectURIs are the URIs the end-session endpoint may send the browser back to
	// (exact match, like redirect URIs; https, or http to a loopback host).
	PostLogoutRedirectURIs []string
	// BackchannelURI receives logout tokens (OpenID Connect Back-Channel Logout 1.0); "" for none.
	// Absolute https (http only to a loopback host), no fragment; a query is allowed.
	BackchannelURI string
	// BackchannelSessionRequired: the client wants the sid claim — in its ID tokens and in the
	// logout tokens that end one session (backchannel_logout_session_required).
	BackchannelSessionRequired bool
}

// Client is a registered application. Fields are unexported: use New, Update and RotateSecret to
// change one, Rehydrate to load one from storage.
type Client struct {
	id            string
	typ           Type
	secretHash    []byte // SHA-256 of the secret; nil for public clients
	name          string
	description   string
	logoURL       string
	redirectURIs  []string
	allowed       scope.Set
	reasons       map[scope.Name]ScopeReason
	required      scope.Set
	logout        Logout
	requirePAR    bool
	requireAuth   bool
	authMethod    AuthMethod
	keys          Keys
	idTokenAlg    string
	grants        []GrantType
	machineScopes []string
	createdAt     time.Time
	updatedAt     time.Time
}

// New registers a client. The client_id and, for a confidential client, the secret are generated
// from rnd; the secret is returned once and only its SHA-256 hash is kept. A plain SHA-256 is
// enough (performance rule 4, docs/architecture.md): the secret is 256 random bits, so there is nothing to brute-force,
// and a slow KDF would cost milliseconds on every token request.
func New(p Params, rnd io.Reader, now time.Time) (c *Client, secret string, err error) {
	c = &Client{createdAt: now, updatedAt: now}
	if p.AuthMethod == "" {
		p.AuthMethod = AuthSecretBasic
		if p.Type == Public {
			p.AuthMethod = AuthNone
		}
	}
	if p.GrantTypes == nil {
		p.GrantTypes = DefaultGrantTypes()
	}
	if err := c.apply(p); err != nil {
		return nil, "", err
	}
	id, err := randomString(rnd, idBytes)
	if err != nil {
		return nil, "", fmt.Errorf("client: generate id: %w", err)
	}
	c.id = IDPrefix + id
	if c.authMethod.usesSecret() {
		if secret, err = c.newSecret(rnd); err != nil {
			return nil, "", err
		}
	}
	return c, secret, nil
}

// Update replaces the editable fields (everything but the id, the type and the secret). The
// authentication method may change between the two secret methods, and from a secret method to
// private_key_jwt (the secret is then forgotten); never from private_key_jwt to a secret method,
// which would leave the client without a secret (ErrAuthMethodChange).
func (c *Client) Update(p Params, now time.Time) error {
	if p.Type != "" && p.Type != c.typ {
		return ErrTypeChange
	}
	p.Type = c.typ
	if p.AuthMethod == "" {
		// Neither method nor keys given: both stay (an edit of the consent-screen text must not
		// need the client's keys again).
		p.AuthMethod = c.authMethod
		if p.Keys == (Keys{}) {
			p.Keys = c.keys
		}
	}
	if p.GrantTypes == nil {
		p.GrantTypes = c.grants
		if p.MachineScopes == nil {
			p.MachineScopes = c.machineScopes
		}
	}
	if c.authMethod == AuthPrivateKeyJWT && p.AuthMethod.usesSecret() {
		return ErrAuthMethodChange
	}
	next := *c
	if err := next.apply(p); err != nil {
		return err
	}
	if !next.authMethod.usesSecret() {
		next.secretHash = nil
	}
	next.updatedAt = now
	*c = next
	return nil
}

// RotateSecret replaces a confidential client's secret and returns the new one (shown once).
func (c *Client) RotateSecret(rnd io.Reader, now time.Time) (string, error) {
	if c.typ != Confidential {
		return "", ErrPublicClient
	}
	if !c.authMethod.usesSecret() {
		return "", ErrNoSecret
	}
	secret, err := c.newSecret(rnd)
	if err != nil {
		return "", err
	}
	c.updatedAt = now
	return secret, nil
}

func (c *Client) newSecret(rnd io.Reader) (string, error) {
	secret, err := randomString(rnd, secretBytes)
	if err != nil {
		return "", fmt.Errorf("client: generate secret: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	c.secretHash = sum[:]
	return secret, nil
}

// apply validates p and copies it into c.
func (c *Client) apply(p Params) error {
	switch p.Type {
	case Confidential, Public:
	default:
		return fmt.Errorf("%w: type must be %q or %q", ErrInvalid, Confidential, Public)
	}
	name := strings.TrimSpace(p.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen {
		return fmt.Errorf("%w: name must be 1-%d characters", ErrInvalid, MaxNameLen)
	}
	if utf8.RuneCountInString(p.Description) > MaxDescriptionLen {
		return fmt.Errorf("%w: description must be at most %d characters", ErrInvalid, MaxDescriptionLen)
	}
	if p.LogoURL != "" {
		if err := validateLogoURL(p.LogoURL); err != nil {
			return err
		}
	}
	grants, machineScopes, err := validateGrants(p.Type, p.GrantTypes, p.MachineScopes)
	if err != nil {
		return err
	}
	// A client that never signs a user in (client_credentials only) needs neither redirect URIs
	// nor user scopes.
	signsIn := slices.Contains(grants, GrantAuthorizationCode)
	if (signsIn && len(p.RedirectURIs) == 0) || len(p.RedirectURIs) > MaxRedirectURIs {
		return fmt.Errorf("%w: between 1 and %d redirect URIs are required", ErrInvalid, MaxRedirectURIs)
	}
	uris := make([]string, 0, len(p.RedirectURIs))
	for _, u := range p.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return err
		}
		if !slices.Contains(uris, u) {
			uris = append(uris, u)
		}
	}
	// A device client signs a user in too, on another screen: it needs user scopes, but no
	// redirect URI (nothing is ever redirected to a device).
	if (signsIn || slices.Contains(grants, GrantDeviceCode)) && p.AllowedScopes.IsEmpty() {
		return fmt.Errorf("%w: at least one allowed scope is required", ErrInvalid)
	}
	reasons := make(map[scope.Name]ScopeReason, len(p.ScopeReasons))
	for n, r := range p.ScopeReasons {
		if !p.AllowedScopes.Has(n) {
			return fmt.Errorf("%w: scope reason for %q, which is not an allowed scope", ErrInvalid, n)
		}
		if utf8.RuneCountInString(r.Description) > MaxDescriptionLen || utf8.RuneCountInString(r.Reason) > MaxDescriptionLen {
			return fmt.Errorf("%w: scope %q: description and reason must be at most %d characters", ErrInvalid, n, MaxDescriptionLen)
		}
		reasons[n] = r
	}
	if !p.RequiredScopes.SubsetOf(p.AllowedScopes) {
		return fmt.Errorf("%w: required scopes %q are not allowed scopes", ErrInvalid, p.RequiredScopes.Minus(p.AllowedScopes).String())
	}
	logout, err := p.Logout.validated()
	if err != nil {
		return err
	}
	if err := validateAuthMethod(p.Type, p.AuthMethod, p.Keys); err != nil {
		return err
	}
	c.authMethod = p.AuthMethod
	c.keys = p.Keys
	c.grants = grants
	c.machineScopes = machineScopes
	c.logout = logout
	c.requirePAR = p.RequirePushedAuthorizationRequests
	c.requireAuth = p.RequireAuthTime
	switch p.IDTokenSignedResponseAlg {
	case "", keys.AlgorithmES256:
		c.idTokenAlg = keys.AlgorithmES256
	case keys.AlgorithmRS256:
		c.idTokenAlg = keys.AlgorithmRS256
	default:
		return fmt.Errorf("%w: id_token_signed_response_alg %q: want %s or %s", ErrInvalid, p.IDTokenSignedResponseAlg, keys.AlgorithmES256, keys.AlgorithmRS256)
	}
	c.required = p.RequiredScopes
	c.typ = p.Type
	c.name = name
	c.description = p.Description
	c.logoURL = p.LogoURL
	c.redirectURIs = uris
	c.allowed = p.AllowedScopes
	c.reasons = reasons
	return nil
}

// validateAuthMethod checks that method suits the client type (none for public clients, a secret
// method or private_key_jwt for confidential ones) and that keys are registered exactly when the
// method needs them: a private_key_jwt client has one of jwks (a valid JWK Set with at least one
// public signature key) and jwks_uri (https, or http to a loopback host).
func validateAuthMethod(typ Type, method AuthMethod, keys Keys) error {
	switch {
	case !slices.Contains(AuthMethods(), method):
		return fmt.Errorf("%w: token_endpoint_auth_method %q is not one of %v", ErrInvalid, method, AuthMethods())
	case typ == Public && method != AuthNone:
		return fmt.Errorf("%w: a public client's token_endpoint_auth_method is none", ErrInvalid)
	case typ == Confidential && method == AuthNone:
		return fmt.Errorf("%w: a confidential client cannot use token_endpoint_auth_method none", ErrInvalid)
	}
	if method != AuthPrivateKeyJWT {
		if keys != (Keys{}) {
			return fmt.Errorf("%w: jwks and jwks_uri are only for token_endpoint_auth_method private_key_jwt", ErrInvalid)
		}
		return nil
	}
	switch {
	case keys.JWKS != "" && keys.JWKSURI != "":
		return fmt.Errorf("%w: register jwks or jwks_uri, not both", ErrInvalid)
	case keys.JWKS != "":
		if _, err := ParseJWKS([]byte(keys.JWKS)); err != nil {
			return fmt.Errorf("%w: jwks: %w", ErrInvalid, err)
		}
	case keys.JWKSURI != "":
		if err := validateCallbackURI("jwks_uri", keys.JWKSURI); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: private_key_jwt needs jwks or jwks_uri", ErrInvalid)
	}
	return nil
}

// validated checks a logout registration and returns it with duplicate URIs removed.
func (l Logout) validated() (Logout, error) {
	if len(l.PostLogoutRedirectURIs) > MaxRedirectURIs {
		return Logout{}, fmt.Errorf("%w: at most %d post-logout redirect URIs", ErrInvalid, MaxRedirectURIs)
	}
	out := Logout{BackchannelURI: l.BackchannelURI, BackchannelSessionRequired: l.BackchannelSessionRequired}
	for _, u := range l.PostLogoutRedirectURIs {
		if err := validateCallbackURI("post-logout redirect URI", u); err != nil {
			return Logout{}, err
		}
		if !slices.Contains(out.PostLogoutRedirectURIs, u) {
			out.PostLogoutRedirectURIs = append(out.PostLogoutRedirectURIs, u)
		}
	}
	if l.BackchannelURI != "" {
		if err := validateCallbackURI("back-channel logout URI", l.BackchannelURI); err != nil {
			return Logout{}, err
		}
	}
	return out, nil
}

// ValidateRedirectURI checks a redirect URI offered for registration: absolute, no fragment
// (RFC 6749 §3.1.2), no user info, and https unless it points at a loopback host (RFC 8252 §7.3,
// RFC 9700 §2.6 / checklist 38).
func ValidateRedirectURI(raw string) error { return validateCallbackURI("redirect URI", raw) }

// validateCallbackURI is ValidateRedirectURI's rule for every URI the provider sends a browser
// or a request to on a client's behalf; what names the field in the error.
func validateCallbackURI(what, raw string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s %q: %s", ErrInvalid, what, raw, why) }
	if len(raw) > MaxURILen {
		return bad("too long")
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return bad("contains whitespace or control characters")
		}
	}
	if strings.Contains(raw, "#") {
		return bad("must not contain a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	if !u.IsAbs() || u.Hostname() == "" || u.Opaque != "" {
		// Hostname, not Host: "https://:443/cb" has a Host (":443") but no host to redirect to.
		return bad("must be absolute")
	}
	if u.User != nil {
		return bad("must not contain user info")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return bad("plain http is allowed only for loopback hosts")
		}
	default:
		return bad("scheme must be https (or http for loopback hosts)")
	}
	return nil
}

func validateLogoURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > MaxURILen || !u.IsAbs() || u.Hostname() == "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
		return fmt.Errorf("%w: logo URL %q must be an absolute https URL", ErrInvalid, raw)
	}
	return nil
}

func isLoopbackHost(h string) bool {
	return h == "127.0.0.1" || h == "::1" || h == "localhost"
}

// ResolveRedirectURI checks the redirect_uri of an authorization request against the registered
// ones and returns the URI the response must go to. Matching is exact string comparison
// (checklist 1): no normalisation of case, trailing slashes, dot segments or query strings. The
// one variance is RFC 8252 §7.3: for a public (native) client registered with an
// http://127.0.0.1/… or http://[::1]/… URI, any port matches, because the app picks an ephemeral
// port at run time. An empty redirect_uri is refused even when only one is registered, so the code
// is always bound to a URI the client named.
func (c *Client) ResolveRedirectURI(raw string) (string, error) {
	if raw == "" {
		return "", ErrRedirectURIMismatch
	}
	for _, reg := range c.redirectURIs {
		if raw == reg {
			return raw, nil
		}
	}
	if c.typ == Public {
		key, ok := loopbackKey(raw)
		if ok {
			for _, reg := range c.redirectURIs {
				if k, ok := loopbackKey(reg); ok && k == key {
					return raw, nil
				}
			}
		}
	}
	return "", ErrRedirectURIMismatch
}

// loopbackKey returns a URI with the port removed from its authority if it is an http URI to the
// IPv4 or IPv6 loopback literal with no port or a port in 1–65535 (a port a native app can
// actually listen on); everything after the authority is kept byte for byte.
func loopbackKey(raw string) (string, bool) {
	const prefix = "http://"
	if !strings.HasPrefix(raw, prefix) || strings.Contains(raw, "#") {
		return "", false
	}
	rest := raw[len(prefix):]
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	var host, port string
	switch {
	case strings.HasPrefix(authority, "127.0.0.1"):
		host, port = "127.0.0.1", authority[len("127.0.0.1"):]
	case strings.HasPrefix(authority, "[::1]"):
		host, port = "[::1]", authority[len("[::1]"):]
	default:
		return "", false
	}
	if port != "" {
		digits := strings.TrimPrefix(port, ":")
		if digits == port || digits == "" || len(digits) > 5 || strings.Trim(digits, "0123456789") != "" {
			return "", false
		}
		if n, err := strconv.Atoi(digits); err != nil || n < 1 || n > 65535 {
			return "", false
		}
	}
	return prefix + host + tail, true
}

// VerifySecret reports whether secret is this confidential client's secret. The comparison of the
// SHA-256 digests is constant-time (checklist 25). Public clients have no secret: always false.
func (c *Client) VerifySecret(secret string) bool {
	if c.typ != Confidential || !c.authMethod.usesSecret() || len(c.secretHash) != sha256.Size {
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], c.secretHash) == 1
}

// AuthMethod returns the client's token_endpoint_auth_method.
func (c *Client) AuthMethod() AuthMethod { return c.authMethod }

// CheckAuthMethod refuses authentication with a method the client is not registered for
// (ErrAuthMethodMismatch): a client registered for one method cannot use another.
func (c *Client) CheckAuthMethod(used AuthMethod) error {
	if used != c.authMethod {
		return fmt.Errorf("%w: registered for %s, used %s", ErrAuthMethodMismatch, c.authMethod, used)
	}
	return nil
}

// Keys returns a private_key_jwt client's registered jwks or jwks_uri.
func (c *Client) Keys() Keys { return c.keys }

// AllowsScopes reports whether every scope of s is registered for this client (decision 5).
func (c *Client) AllowsScopes(s scope.Set) bool { return s.SubsetOf(c.allowed) }

// ID returns the client_id.
func (c *Client) ID() string { return c.id }

// Type returns Confidential or Public.
func (c *Client) Type() Type { return c.typ }

// IsPublic reports whether the client is public.
func (c *Client) IsPublic() bool { return c.typ == Public }

// Name is the display name shown on the consent screen.
func (c *Client) Name() string { return c.name }

// Description is shown on the consent screen.
func (c *Client) Description() string { return c.description }

// LogoURL is shown on the consent screen ("" when none).
func (c *Client) LogoURL() string { return c.logoURL }

// RedirectURIs returns the registered redirect URIs in registration order.
func (c *Client) RedirectURIs() []string { return slices.Clone(c.redirectURIs) }

// AllowedScopes returns the scopes the client may request.
func (c *Client) AllowedScopes() scope.Set { return c.allowed }

// ScopeReasons returns the consent-screen text per scope.
func (c *Client) ScopeReasons() map[scope.Name]ScopeReason { return maps.Clone(c.reasons) }

// RequiredScopes returns the scopes the client marked as required.
func (c *Client) RequiredScopes() scope.Set { return c.required }

// Requires reports whether the consent screen pre-ticks scope n of a request: the client marked it
// as required, or it is openid — the sign-in itself, which shares no profile data.
func (c *Client) Requires(n scope.Name) bool { return n == scope.OpenID || c.required.Has(n) }

// PostLogoutRedirectURIs returns the registered post-logout redirect URIs.
func (c *Client) PostLogoutRedirectURIs() []string {
	return slices.Clone(c.logout.PostLogoutRedirectURIs)
}

// AllowsPostLogoutRedirectURI reports whether raw is, byte for byte, one of the registered
// post-logout redirect URIs (RP-Initiated Logout §3: exact match, as for redirect URIs,
// checklist 1).
func (c *Client) AllowsPostLogoutRedirectURI(raw string) bool {
	return raw != "" && slices.Contains(c.logout.PostLogoutRedirectURIs, raw)
}

// BackchannelLogoutURI is where logout tokens are POSTed ("" when the client registered none).
func (c *Client) BackchannelLogoutURI() string { return c.logout.BackchannelURI }

// WantsSessionID reports whether the client registered backchannel_logout_session_required: its
// ID tokens carry sid.
func (c *Client) WantsSessionID() bool { return c.logout.BackchannelSessionRequired }

// RequiresPushedAuthorizationRequests reports whether the client may send authorization requests
// only through the PAR endpoint (RFC 9126 §6).
func (c *Client) RequiresPushedAuthorizationRequests() bool { return c.requirePAR }

// RequiresAuthTime reports whether every ID token of the client carries auth_time.
func (c *Client) RequiresAuthTime() bool { return c.requireAuth }

// IDTokenSignedResponseAlg returns the algorithm the client's ID tokens are signed with
// (keys.AlgorithmES256 unless the client registered keys.AlgorithmRS256).
func (c *Client) IDTokenSignedResponseAlg() string { return c.idTokenAlg }

// ScopeReason returns the consent-screen text of one scope.
func (c *Client) ScopeReason(n scope.Name) (ScopeReason, bool) {
	r, ok := c.reasons[n]
	return r, ok
}

// CreatedAt and UpdatedAt are the registration and last edit times.
func (c *Client) CreatedAt() time.Time { return c.createdAt }

// UpdatedAt is the time of the last edit or secret rotation.
func (c *Client) UpdatedAt() time.Time { return c.updatedAt }

// Snapshot is the stored form of a client, for storage adapters only: its id, its secret's digest
// and what an administrator set (Params). A client stored before a field existed has it zero:
// RequiredScopes empty; Logout, RequirePushedAuthorizationRequests and RequireAuthTime unset;
// AuthMethod "" (client_secret_basic for a confidential client, none for a public one); GrantTypes
// nil (DefaultGrantTypes).
type Snapshot struct {
	ID         string
	SecretHash []byte
	Params
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Snapshot exports the client for storage.
func (c *Client) Snapshot() Snapshot {
	return Snapshot{ID: c.id, SecretHash: slices.Clone(c.secretHash), CreatedAt: c.createdAt, UpdatedAt: c.updatedAt, Params: Params{
		Type: c.typ, Name: c.name,
		Description: c.description, LogoURL: c.logoURL, RedirectURIs: slices.Clone(c.redirectURIs),
		AllowedScopes: c.allowed, ScopeReasons: maps.Clone(c.reasons), RequiredScopes: c.required,
		Logout: Logout{PostLogoutRedirectURIs: slices.Clone(c.logout.PostLogoutRedirectURIs), BackchannelURI: c.logout.BackchannelURI,
			BackchannelSessionRequired: c.logout.BackchannelSessionRequired},
		RequirePushedAuthorizationRequests: c.requirePAR, RequireAuthTime: c.requireAuth,
		AuthMethod: c.authMethod, Keys: c.keys, GrantTypes: slices.Clone(c.grants), MachineScopes: slices.Clone(c.machineScopes),
		IDTokenSignedResponseAlg: c.idTokenAlg,
	}}
}

// Rehydrate rebuilds a client from storage. It is for storage adapters only, never a constructor
// for new clients: it re-validates the stored fields so a corrupt row fails loudly.
func Rehydrate(s Snapshot) (*Client, error) {
	c := &Client{id: s.ID, createdAt: s.CreatedAt, updatedAt: s.UpdatedAt}
	if !strings.HasPrefix(s.ID, IDPrefix) || len(s.ID) <= len(IDPrefix) {
		return nil, fmt.Errorf("%w: stored client id %q", ErrInvalid, s.ID)
	}
	p := s.Params
	method := p.AuthMethod
	if method == "" {
		method = AuthSecretBasic
		if p.Type == Public {
			method = AuthNone
		}
	}
	p.AuthMethod = method
	if p.GrantTypes == nil {
		p.GrantTypes = DefaultGrantTypes()
	}
	if err := c.apply(p); err != nil {
		return nil, fmt.Errorf("stored client %s: %w", s.ID, err)
	}
	switch {
	case method.usesSecret() && len(s.SecretHash) != sha256.Size:
		return nil, fmt.Errorf("%w: stored confidential client %s has no secret hash", ErrInvalid, s.ID)
	case !method.usesSecret() && len(s.SecretHash) != 0:
		return nil, fmt.Errorf("%w: stored client %s (%s) has a secret hash", ErrInvalid, s.ID, method)
	}
	c.secretHash = slices.Clone(s.SecretHash)
	return c, nil
}

func randomString(rnd io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
