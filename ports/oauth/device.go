package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/ratelimit"
)

// ErrUnknownUserCode: the user code is malformed, unknown, already decided or expired — the
// person is told only that the code does not work ("invalid_user_code"). Each is a wrong guess
// (device.GuessLimit).
var ErrUnknownUserCode = errors.New("oauth: unknown or expired user code")

// DeviceAuthorization is the answer of the device authorization endpoint (RFC 8628 §3.2) without
// the verification URIs, which are the consent UI's and the HTTP layer's to build.
type DeviceAuthorization struct {
	DeviceCode string
	// UserCode is shown as XXXX-XXXX (device.FormatUserCode).
	UserCode  string
	ExpiresIn int // seconds
	Interval  int // seconds
}

// userCodeAttempts bounds how often a user code is drawn again when the one drawn is taken
// (a collision among the live codes: about one in 10^7 per draw with a thousand live codes).
const userCodeAttempts = 5

// DeviceAuthorize starts a device authorization (RFC 8628 §3.1): it authenticates the client as
// the token endpoint does (a public client names itself with client_id), checks that the client
// may use the device code grant, and stores a pending device request for scope with the hashes
// of a fresh device code and user code.
//
// Errors (*oautherr.Error, answered as JSON): those of ClientAuth.Authenticate (invalid_client);
// unauthorized_client when the device code grant is not enabled for the client; invalid_scope for
// an empty scope, an unknown one or one the client is not registered for; anything else internal.
func (a *Authorization) DeviceAuthorize(ctx context.Context, creds ClientCredentials, scopeParam string) (DeviceAuthorization, error) {
	c, err := a.clientAuth.Authenticate(ctx, creds)
	if err != nil {
		return DeviceAuthorization{}, err
	}
	if !c.AllowsGrant(client.GrantDeviceCode) {
		return DeviceAuthorization{}, oautherr.UnauthorizedClient.WithDescription("The client is not allowed to use the device authorization grant")
	}
	deviceCode, err := device.NewDeviceCode(a.random)
	if err != nil {
		return DeviceAuthorization{}, fmt.Errorf("device authorization: %w", err)
	}
	key, err := device.PublicKey(deviceCode)
	if err != nil {
		return DeviceAuthorization{}, fmt.Errorf("device authorization: %w", err)
	}
	id, err := authreq.NewID(a.random)
	if err != nil {
		return DeviceAuthorization{}, fmt.Errorf("device authorization: %w", err)
	}
	now := clockNow(a.clock)
	r, err := authreq.NewDevice(id, c, scopeParam, pkce.ChallengeFor(device.Verifier(deviceCode)), key, now, a.deviceTTL)
	if err != nil {
		return DeviceAuthorization{}, err
	}
	first := device.Poll{Interval: device.DefaultInterval}
	for range userCodeAttempts {
		userCode, err := device.NewUserCode(a.random)
		if err != nil {
			return DeviceAuthorization{}, fmt.Errorf("device authorization: %w", err)
		}
		err = a.devices.Create(ctx, r, DeviceCodes{Device: device.HashDeviceCode(deviceCode), User: device.HashUserCode(userCode)}, first)
		if errors.Is(err, ErrAlreadyExists) {
			continue
		}
		if err != nil {
			return DeviceAuthorization{}, fmt.Errorf("device authorization: %w", err)
		}
		a.events.Record(ctx, Event{Kind: EventDeviceAuthorizationRequested, ClientID: c.ID(), AuthRequestID: r.ID()})
		return DeviceAuthorization{DeviceCode: deviceCode, UserCode: device.FormatUserCode(userCode),
			ExpiresIn: seconds(r.ExpiresAt().Sub(now)), Interval: seconds(first.Interval)}, nil
	}
	return DeviceAuthorization{}, errors.New("device authorization: no free user code")
}

// ResolveUserCode finds the pending device request a person's user code names, for the consent
// screen (the consent UI's "Connect a device" page, through Core). userID is the signed-in
// person; wrong codes are counted per person in the shared database and, past device.GuessLimit
// in a window, every attempt is refused until the window ends without being looked up.
//
// Errors: ErrInvalidInput (no user id); ErrUnknownUserCode (malformed, unknown, decided or
// expired: one wrong guess); a *ratelimit.LimitedError (errors.Is ratelimit.ErrLimited) when the
// person is locked out; ratelimit.ErrNotRecorded when the counter cannot be read or written —
// refused, never let through uncounted (fail closed); others internal.
func (a *Authorization) ResolveUserCode(ctx context.Context, userCode, userID string) (string, error) {
	if err := requiredText("user_id", userID); err != nil {
		return "", err
	}
	now := clockNow(a.clock)
	w, key := device.GuessLimit.WindowAt(now), device.GuessKey(userID)
	failures, err := a.failures.Count(ctx, w, key)
	if err != nil {
		return "", ratelimit.NotRecorded(err)
	}
	if err := device.GuessLimit.AdmitAttempt(failures, now); err != nil {
		a.events.Record(ctx, Event{Kind: EventUserCodeLockedOut, Subject: userID})
		return "", err
	}
	wrong := func() (string, error) {
		if _, err := a.failures.Record(ctx, w, key); err != nil {
			return "", ratelimit.NotRecorded(err)
		}
		a.events.Record(ctx, Event{Kind: EventUserCodeRejected, Subject: userID})
		return "", ErrUnknownUserCode
	}
	normal, err := device.NormalizeUserCode(userCode)
	if err != nil {
		return wrong()
	}
	r, err := a.devices.ByUserCode(ctx, device.HashUserCode(normal))
	switch {
	case errors.Is(err, ErrNotFound):
		return wrong()
	case err != nil:
		return "", fmt.Errorf("resolve user code: %w", err)
	case !device.Resolvable(r, now):
		a.persistExpiry(ctx, r, now)
		return wrong()
	}
	return r.ID(), nil
}

// DeviceToken answers a device's poll (grant_type=urn:ietf:params:oauth:grant-type:device_code,
// RFC 8628 §3.4–3.5). The client is authenticated as for any grant (public clients name
// themselves) and must have the grant enabled; the device code must be one this client was
// given. device.Decide then answers from the request's state and the poll state kept in the
// database; a poll it records is written conditionally on the state read, so of concurrent polls
// exactly one proceeds and the others are told to slow down. An approved request's code, sealed
// for the device, is opened with the device code and redeemed exactly as ExchangeCode redeems a
// code — with the verifier derived from the device code — so the tokens are the same (access,
// refresh, data token, ID token with openid) and a device code yields tokens once: a later poll
// finds the code used, which revokes what it gave (checklist 17) and answers invalid_grant.
//
// Errors (*oautherr.Error): invalid_client; unauthorized_client; invalid_request (no
// device_code); invalid_grant (unknown device code, another client's, used); authorization_pending;
// slow_down; access_denied; expired_token (the request or the approval's code expired); others
// internal.
func (t *Tokens) DeviceToken(ctx context.Context, creds ClientCredentials, deviceCode string) (TokenSet, error) {
	c, err := t.clientAuth.Authenticate(ctx, creds)
	if err != nil {
		return TokenSet{}, err
	}
	if !c.AllowsGrant(client.GrantDeviceCode) {
		return TokenSet{}, oautherr.UnauthorizedClient.WithDescription("The client is not allowed to use the device code grant")
	}
	if deviceCode == "" {
		return TokenSet{}, oautherr.InvalidRequest.WithDescription("device_code is required")
	}
	invalid := oautherr.InvalidGrant.WithDescription("Invalid device code")
	if !device.ValidDeviceCode(deviceCode) {
		return TokenSet{}, invalid
	}
	r, poll, sealed, err := t.devices.ByDeviceCode(ctx, device.HashDeviceCode(deviceCode))
	switch {
	case errors.Is(err, ErrNotFound):
		return TokenSet{}, invalid
	case err != nil:
		return TokenSet{}, fmt.Errorf("device token: %w", err)
	}
	now := clockNow(t.clock)
	outcome, next, err := device.Decide(r, poll, c.ID(), now)
	if err != nil {
		return TokenSet{}, invalid.WithCause(err)
	}
	if next != poll {
		err := t.devices.RecordPoll(ctx, r.ID(), poll, next)
		switch {
		case errors.Is(err, ErrConflict):
			// Another poll of this device code, on this or another instance, was recorded since
			// the read: this one came too early.
			return TokenSet{}, oautherr.SlowDown.WithDescription("Polling too fast: wait the interval, plus 5 seconds")
		case err != nil:
			return TokenSet{}, fmt.Errorf("device token: %w", err)
		}
	}
	switch outcome {
	case device.Pending:
		return TokenSet{}, oautherr.AuthorizationPending.WithDescription("The person has not decided yet")
	case device.SlowDown:
		return TokenSet{}, oautherr.SlowDown.WithDescriptionf("Polling too fast: wait at least %d seconds between polls", seconds(next.Interval))
	case device.Denied:
		return TokenSet{}, oautherr.AccessDenied.WithDescription("The person denied the request")
	case device.Expired:
		return TokenSet{}, oautherr.ExpiredToken.WithDescription("The device code has expired")
	}
	rawCode, err := device.OpenCode(deviceCode, sealed)
	if err != nil {
		return TokenSet{}, fmt.Errorf("device token: approved request %s: %w", r.ID(), err)
	}
	ts, err := t.redeemCode(ctx, c, rawCode, device.RedirectURI, device.Verifier(deviceCode), GrantTypeDeviceCode)
	if oe, ok := oautherr.As(err); ok && errors.Is(oe, grant.ErrCodeExpired) {
		return TokenSet{}, oautherr.ExpiredToken.WithDescription("The approval was not collected in time").WithCause(err)
	}
	return ts, err
}
