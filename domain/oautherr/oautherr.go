// Package oautherr holds the OAuth 2.0 error vocabulary (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
// RFC 7009 §2.2.1) as values. Domain rules and use cases return these errors; only the HTTP adapter
// decides which status code and which response shape (JSON body or redirect) an error becomes, so no
// transport detail lives here.
//
// Errors compare by code: errors.Is(err, oautherr.InvalidGrant) holds for any *Error with the
// invalid_grant code, whatever its description and however deeply it is wrapped. The package-level
// values are templates; the With… methods return copies, so the templates are never mutated.
package oautherr

import (
	"errors"
	"fmt"
	"strings"
)

// Code is an RFC 6749 (or extension) error code, the value of the "error" parameter.
type Code string

// The error codes SVA emits.
const (
	CodeInvalidRequest          Code = "invalid_request"
	CodeInvalidClient           Code = "invalid_client"
	CodeInvalidGrant            Code = "invalid_grant"
	CodeUnauthorizedClient      Code = "unauthorized_client"
	CodeUnsupportedGrantType    Code = "unsupported_grant_type"
	CodeUnsupportedResponseType Code = "unsupported_response_type"
	CodeInvalidScope            Code = "invalid_scope"
	CodeAccessDenied            Code = "access_denied"
	CodeServerError             Code = "server_error"
	CodeTemporarilyUnavailable  Code = "temporarily_unavailable"
	CodeUnsupportedTokenType    Code = "unsupported_token_type" // RFC 7009 §2.2.1
	CodeInvalidToken            Code = "invalid_token"          // RFC 6750 §3.1
	// The device code grant's answers to a poll (RFC 8628 §3.5).
	CodeAuthorizationPending Code = "authorization_pending"
	CodeSlowDown             Code = "slow_down"
	CodeExpiredToken         Code = "expired_token"
)

// Error is one OAuth error: a machine-readable code and a human-readable description (the
// "error_description" parameter, ASCII per RFC 6749 §5.2). It may carry a cause for logs and for
// errors.Is checks against domain sentinels; the cause is never shown to clients.
type Error struct {
	Code        Code
	Description string
	cause       error
}

// Templates for every code. Use them with errors.Is, or derive a described copy with With….
var (
	InvalidRequest          = &Error{Code: CodeInvalidRequest, Description: "The request is missing a required parameter or is otherwise malformed"}
	InvalidClient           = &Error{Code: CodeInvalidClient, Description: "Client authentication failed"}
	InvalidGrant            = &Error{Code: CodeInvalidGrant, Description: "The authorization grant is invalid, expired or revoked"}
	UnauthorizedClient      = &Error{Code: CodeUnauthorizedClient, Description: "The client is not authorized to use this grant type"}
	UnsupportedGrantType    = &Error{Code: CodeUnsupportedGrantType, Description: "The grant type is not supported"}
	UnsupportedResponseType = &Error{Code: CodeUnsupportedResponseType, Description: "Only authorization code flow is supported"}
	InvalidScope            = &Error{Code: CodeInvalidScope, Description: "The requested scope is invalid or not allowed"}
	AccessDenied            = &Error{Code: CodeAccessDenied, Description: "The user denied the request"}
	ServerError             = &Error{Code: CodeServerError, Description: "Internal server error"}
	TemporarilyUnavailable  = &Error{Code: CodeTemporarilyUnavailable, Description: "The service is temporarily unavailable"}
	UnsupportedTokenType    = &Error{Code: CodeUnsupportedTokenType, Description: "The token type is not supported"}
	InvalidToken            = &Error{Code: CodeInvalidToken, Description: "The access token is invalid, expired or revoked"}
	AuthorizationPending    = &Error{Code: CodeAuthorizationPending, Description: "The person has not decided yet"}
	SlowDown                = &Error{Code: CodeSlowDown, Description: "Polling too fast"}
	ExpiredToken            = &Error{Code: CodeExpiredToken, Description: "The device code has expired"}
)

// Error renders "code: description".
func (e *Error) Error() string {
	if e.Description == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Description
}

// Is reports whether target is an *Error with the same code, so descriptions and causes never
// defeat errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// WithDescription returns a copy of e with another description.
func (e *Error) WithDescription(description string) *Error {
	c := *e
	c.Description = description
	return &c
}

// WithDescriptionf is WithDescription with fmt.Sprintf formatting.
func (e *Error) WithDescriptionf(format string, args ...any) *Error {
	return e.WithDescription(fmt.Sprintf(format, args...))
}

// WithCause returns a copy of e that wraps cause (for logs and errors.Is on domain sentinels).
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var oe *Error
	if errors.As(err, &oe) {
		return oe, true
	}
	return nil, false
}

// maxQuoted bounds how much of a request-supplied string Quote keeps.
const maxQuoted = 64

// Quote makes s, which comes from the request and so from whoever sent it, safe to embed in an
// error_description: it keeps at most 64 bytes and replaces every character outside RFC 6749
// §5.2's set (%x20-21 / %x23-5B / %x5D-7E) with '?'. Descriptions are also quoted inside
// WWW-Authenticate challenges, so a '"' or '\' must never reach them.
func Quote(s string) string {
	if len(s) > maxQuoted {
		s = s[:maxQuoted]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}

// DuplicateParameter is the invalid_request error for a parameter sent more than once ("Request
// and response parameters MUST NOT be included more than once", RFC 6749 §3.1, §3.2).
func DuplicateParameter(name string) *Error {
	return InvalidRequest.WithDescriptionf("Parameter %s is included more than once", Quote(name))
}

// Authorization-request error codes of OpenID Connect Core §3.1.2.6 and RFC 9101 §6.3 (JAR), for
// request objects and request URIs.
const (
	CodeRequestNotSupported    Code = "request_not_supported"
	CodeRequestURINotSupported Code = "request_uri_not_supported"
	CodeInvalidRequestURI      Code = "invalid_request_uri"
)

// Templates for the request-object codes.
var (
	RequestNotSupported    = &Error{Code: CodeRequestNotSupported, Description: "Request objects (the request parameter) are not supported"}
	RequestURINotSupported = &Error{Code: CodeRequestURINotSupported, Description: "request_uri is supported only with a request_uri from the pushed authorization request endpoint"}
	InvalidRequestURI      = &Error{Code: CodeInvalidRequestURI, Description: "The request_uri is unknown, expired, already used or belongs to another client"}
)
