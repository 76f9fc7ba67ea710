package authreq

import (
	"errors"
	"net/url"

	"github.com/sva-oauth/sva/domain/oautherr"
)

// ResponseMode is how the authorization response (code or error) travels back to the client:
// OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and OAuth 2.0 Form Post Response Mode.
type ResponseMode string

// The response modes SVA supports. fragment is not among them: it exists for response types that
// return tokens from the authorization endpoint, which SVA never does (the code flow only), and a
// fragment is out of reach of a server-side callback.
const (
	// ResponseModeQuery appends the parameters to the redirect_uri's query (the code flow's default).
	ResponseModeQuery ResponseMode = "query"
	// ResponseModeFormPost has the browser POST the parameters to the redirect_uri as an
	// application/x-www-form-urlencoded form, so they never appear in a URL.
	ResponseModeFormPost ResponseMode = "form_post"
)

// SupportedResponseModes lists the modes in the order discovery advertises them.
func SupportedResponseModes() []ResponseMode {
	return []ResponseMode{ResponseModeQuery, ResponseModeFormPost}
}

// ErrUnsupportedResponseMode: the response_mode is not one SupportedResponseModes lists.
var ErrUnsupportedResponseMode = errors.New("authreq: unsupported response_mode")

// ParseResponseMode reads the response_mode parameter: absent ("") means query, the default of the
// code flow. Anything else — fragment, web_message, a JARM mode, a typo — is refused with an
// invalid_request *oautherr.Error: answering in a mode the client did not ask for would be a
// silently ignored parameter. The error itself is delivered in the default mode, query (decision
// in docs/decisions.md), because the mode the client asked for is the one that cannot be used.
func ParseResponseMode(s string) (ResponseMode, error) {
	switch m := ResponseMode(s); m {
	case "":
		return ResponseModeQuery, nil
	case ResponseModeQuery, ResponseModeFormPost:
		return m, nil
	}
	return "", oautherr.InvalidRequest.
		WithDescriptionf("response_mode %s is not supported; use query or form_post", oautherr.Quote(s)).
		WithCause(ErrUnsupportedResponseMode)
}

// FormPostTarget checks that a redirect URI can receive a form_post response: the browser must be
// able to POST a form to it, so it must be an http or https URL. (Client registration admits no
// other redirect URIs today; this keeps form_post safe should custom schemes for native apps ever
// be registered, which can only be opened, never posted to.) It returns the URL's origin for the page's
// Content-Security-Policy form-action.
func FormPostTarget(redirectURI string) (origin string, err error) {
	u, err := url.Parse(redirectURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", oautherr.InvalidRequest.WithDescription("response_mode form_post needs an http or https redirect_uri")
	}
	return u.Scheme + "://" + u.Host, nil
}
