package httpapi

import (
	"encoding/base64"
	"mime"
	"net/url"
	"strings"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/textinput"
	"github.com/sva-oauth/sva/ports/oauth"
)

// params is a request's OAuth parameters after the RFC 6749 §3.1/§3.2 syntax checks: every
// parameter appears at most once, and a parameter sent without a value is treated as omitted.
type params map[string]string

// get returns the parameter's value ("" when absent).
func (p params) get(name string) string { return p[name] }

// parseParams decodes a query string or form body into params. "Request and response parameters
// MUST NOT be included more than once" (RFC 6749 §3.1, §3.2): a repeated parameter is rejected as
// invalid_request, even when both copies are equal, because two parsers in a chain (proxy, client
// library, us) could otherwise disagree about which copy counts. Unknown parameters are kept (and
// ignored by the caller), as the RFC requires.
func parseParams(raw string) (params, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, oautherr.InvalidRequest.WithDescription("The parameters are not validly URL-encoded")
	}
	p := make(params, len(values))
	for name, vs := range values {
		if len(vs) > 1 {
			return nil, oautherr.DuplicateParameter(name)
		}
		if err := textinput.Check(vs[0]); err != nil {
			return nil, controlCharacterParameter(name, err)
		}
		if vs[0] != "" {
			p[name] = vs[0]
		}
	}
	return p, nil
}

// controlCharacterParameter is the invalid_request error for a parameter value that breaks
// textinput.Check: every parameter of RFC 6749 Appendix A is printable text, and such a value
// must never reach the database (PostgreSQL refuses NUL and invalid UTF-8 with a 500).
func controlCharacterParameter(name string, cause error) *oautherr.Error {
	return oautherr.InvalidRequest.WithDescriptionf("Parameter %s must be valid UTF-8 without control characters", oautherr.Quote(name)).WithCause(cause)
}

// parseFormBody checks the media type of a token/revoke/introspect request and decodes its body.
// RFC 6749 §3.2, RFC 7009 §2.1 and RFC 7662 §2.1 all fix application/x-www-form-urlencoded; a JSON
// body is refused rather than guessed at, so parameter smuggling through a second syntax is
// impossible.
func parseFormBody(contentType string, body []byte) (params, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, oautherr.InvalidRequest.WithDescription("The request body must be application/x-www-form-urlencoded")
	}
	return parseParams(string(body))
}

// clientFromRequest extracts the client's credentials from the Authorization header and the body.
// RFC 6749 §2.3 says a client MUST NOT use more than one authentication method in a request, so
// Basic credentials together with a body client_secret are invalid_request; a body client_id that
// repeats the Basic one is tolerated (many libraries send it), a different one is not. A request
// naming no client at all yields empty credentials, which client authentication refuses as invalid_client.
// Address is left for the caller to fill.
func clientFromRequest(authorization string, p params) (oauth.ClientCredentials, error) {
	bodyID, bodySecret := p.get("client_id"), p.get("client_secret")
	if p.get("client_assertion_type") != "" || p.get("client_assertion") != "" {
		return assertionFromRequest(authorization, p)
	}
	if authorization == "" {
		switch {
		case bodyID == "" && bodySecret != "":
			return oauth.ClientCredentials{}, oautherr.InvalidRequest.WithDescription("client_secret was sent without client_id")
		case bodySecret != "":
			return oauth.ClientCredentials{ClientID: bodyID, Secret: bodySecret, Method: oauth.AuthMethodPost}, nil
		default:
			return oauth.ClientCredentials{ClientID: bodyID, Method: oauth.AuthMethodNone}, nil
		}
	}
	id, secret, err := parseBasic(authorization)
	if err != nil {
		return oauth.ClientCredentials{}, err
	}
	if bodySecret != "" {
		return oauth.ClientCredentials{}, oautherr.InvalidRequest.WithDescription("Use exactly one client authentication method: HTTP Basic or client_secret in the body, not both")
	}
	if bodyID != "" && bodyID != id {
		return oauth.ClientCredentials{}, oautherr.InvalidRequest.WithDescription("client_id in the body differs from the HTTP Basic client")
	}
	return oauth.ClientCredentials{ClientID: id, Secret: secret, Method: oauth.AuthMethodBasic}, nil
}

// assertionFromRequest extracts private_key_jwt credentials (RFC 7523 §2.2): client_assertion_type
// jwt-bearer and client_assertion, with no other method in the same request. client_id is
// optional (RFC 7523 §3.1); when absent the client is the one the assertion names (its
// signature is then verified with that client's keys, and iss = sub = client_id is required).
func assertionFromRequest(authorization string, p params) (oauth.ClientCredentials, error) {
	typ, assertion, bodyID := p.get("client_assertion_type"), p.get("client_assertion"), p.get("client_id")
	switch {
	case authorization != "" || p.get("client_secret") != "":
		return oauth.ClientCredentials{}, oautherr.InvalidRequest.WithDescription("Use exactly one client authentication method: a client assertion, HTTP Basic or client_secret, not several")
	case typ == "":
		return oauth.ClientCredentials{}, oautherr.InvalidRequest.WithDescription("client_assertion_type is required with client_assertion")
	case assertion == "":
		return oauth.ClientCredentials{}, oautherr.InvalidRequest.WithDescription("client_assertion is required with client_assertion_type")
	case typ != client.AssertionType:
		return oauth.ClientCredentials{}, oautherr.InvalidClient.WithDescriptionf("Unsupported client_assertion_type; use %s", client.AssertionType)
	}
	id := bodyID
	if id == "" {
		var err error
		if id, err = client.AssertionClientID(assertion); err != nil {
			return oauth.ClientCredentials{}, oautherr.InvalidClient.WithDescription("Malformed client assertion").WithCause(err)
		}
	}
	return oauth.ClientCredentials{ClientID: id, Assertion: assertion, Method: oauth.AuthMethodPrivateKeyJWT}, nil
}

// parseBasic decodes client_secret_basic credentials. RFC 6749 §2.3.1: the client identifier and
// secret are each application/x-www-form-urlencoded before being joined with ':' and base64-encoded,
// so both halves are URL-decoded here (a secret containing ':' or '%' survives the round trip).
func parseBasic(authorization string) (id, secret string, err error) {
	scheme, encoded, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", oautherr.InvalidClient.WithDescription("Unsupported Authorization scheme; use HTTP Basic")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", oautherr.InvalidClient.WithDescription("Malformed HTTP Basic credentials")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", oautherr.InvalidClient.WithDescription("Malformed HTTP Basic credentials")
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", oautherr.InvalidClient.WithDescription("Malformed HTTP Basic credentials")
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", oautherr.InvalidClient.WithDescription("Malformed HTTP Basic credentials")
	}
	if id == "" {
		return "", "", oautherr.InvalidClient.WithDescription("Malformed HTTP Basic credentials")
	}
	if err := textinput.Check(id); err != nil {
		return "", "", controlCharacterParameter("client_id", err)
	}
	return id, secret, nil
}

// bearerToken extracts an RFC 6750 §2.1 bearer token ("Bearer" is case-insensitive, RFC 9110 §11.1).
func bearerToken(authorization string) (string, bool) {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
