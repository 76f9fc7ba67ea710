package idtoken

import (
	"context"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/ports/oauth"
)

// The end-session endpoint's id_token_hint is checked by the same verifier as the authorization
// endpoint's, without a client to match: the hint's audience is what names the relying app when
// it sends no client_id (RP-Initiated Logout §2).
var _ oauth.LogoutHintVerifier = (*HintVerifier)(nil)

// idTokenHintClaims are what a hint must carry; a logout token (typ logout+jwt, with events) is
// refused, so a relying app cannot turn one token kind into the other.
type idTokenHintClaims struct {
	jwt.RegisteredClaims
	Events map[string]any `json:"events,omitempty"`
}

// VerifyLogoutHint implements oauth.LogoutHintVerifier: an ES256 or RS256 ID token signed by one
// of the published keys, with the provider as issuer, a subject and an audience; any expiry.
func (v *HintVerifier) VerifyLogoutHint(_ context.Context, token string) (logout.Hint, error) {
	var c idTokenHintClaims
	tok, err := v.parser.ParseWithClaims(token, &c, v.publishedKey)
	switch {
	case err != nil:
		return logout.Hint{}, fmt.Errorf("idtoken: id_token_hint: %w", err)
	case tok.Header["typ"] == logout.TokenType || c.Events != nil:
		return logout.Hint{}, errors.New("idtoken: id_token_hint: a logout token, not an ID token")
	case c.Issuer != v.issuer:
		return logout.Hint{}, fmt.Errorf("idtoken: id_token_hint: issued by %q", c.Issuer)
	case c.Subject == "" || len(c.Audience) == 0:
		return logout.Hint{}, errors.New("idtoken: id_token_hint: no subject or audience")
	}
	return logout.Hint{Subject: c.Subject, Audience: c.Audience}, nil
}
