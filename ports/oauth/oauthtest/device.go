package oauthtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

// newDeviceRequest returns a pending device request of c for "openid email" created at now, its
// raw device code and the hashes of its codes.
func newDeviceRequest(t testing.TB, c *client.Client, now time.Time) (*authreq.Request, string, oauth.DeviceCodes) {
	t.Helper()
	dc, err := device.NewDeviceCode(rand.Reader)
	mustNil(t, err, "NewDeviceCode")
	uc, err := device.NewUserCode(rand.Reader)
	mustNil(t, err, "NewUserCode")
	pub, err := device.PublicKey(dc)
	mustNil(t, err, "PublicKey")
	id, err := authreq.NewID(rand.Reader)
	mustNil(t, err, "NewID")
	r, err := authreq.NewDevice(id, c, "openid email", pkce.ChallengeFor(device.Verifier(dc)), pub, now, device.DefaultTTL)
	mustNil(t, err, "NewDevice")
	return r, dc, oauth.DeviceCodes{Device: device.HashDeviceCode(dc), User: device.HashUserCode(uc)}
}

// unpolled is the poll state a device request is stored with: not polled yet, at the default interval.
var unpolled = device.Poll{Interval: device.DefaultInterval}

// testDeviceRequests: a device request round-trips (key, poll state) by either code's hash, its
// codes' hashes are unique, it needs its client, its poll state changes only from the state the
// caller read, and its approval's code — sealed for the device — is redeemed like any code, with
// the verifier derived from the device code at the device URN.
func testDeviceRequests(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	r, dc, codes := newDeviceRequest(t, c, Now)
	mustNil(t, s.DeviceRequests.Create(ctx, r, codes, unpolled), "Create")

	r2, _, codes2 := newDeviceRequest(t, c, Now)
	wantErr(t, s.DeviceRequests.Create(ctx, r2, oauth.DeviceCodes{Device: codes2.Device, User: codes.User}, unpolled), oauth.ErrAlreadyExists, "Create with a taken user code")
	wantErr(t, s.DeviceRequests.Create(ctx, r2, oauth.DeviceCodes{Device: codes.Device, User: codes2.User}, unpolled), oauth.ErrAlreadyExists, "Create with a taken device code")
	ghost, _ := NewClient(t)
	r3, _, codes3 := newDeviceRequest(t, ghost, Now)
	wantErr(t, s.DeviceRequests.Create(ctx, r3, codes3, unpolled), oauth.ErrNotFound, "Create for an unknown client")
	if err := s.DeviceRequests.Create(ctx, NewAuthRequest(t, c, Now), codes3, unpolled); err == nil {
		t.Fatal("Create stored a browser request as a device request")
	}

	byUser, err := s.DeviceRequests.ByUserCode(ctx, codes.User)
	mustNil(t, err, "ByUserCode")
	equalRequests(t, byUser, r)
	if !byUser.IsDevice() || !bytes.Equal(byUser.DeviceKey(), r.DeviceKey()) {
		t.Fatal("ByUserCode lost the device key")
	}
	got, p, sealed, err := s.DeviceRequests.ByDeviceCode(ctx, codes.Device)
	mustNil(t, err, "ByDeviceCode")
	equalRequests(t, got, r)
	if p != unpolled || sealed != nil {
		t.Fatalf("ByDeviceCode poll %+v sealed %v, want %+v and nothing sealed", p, sealed, unpolled)
	}
	_, err = s.DeviceRequests.ByUserCode(ctx, codes2.User)
	wantErr(t, err, oauth.ErrNotFound, "ByUserCode unknown")
	_, _, _, err = s.DeviceRequests.ByDeviceCode(ctx, codes2.Device)
	wantErr(t, err, oauth.ErrNotFound, "ByDeviceCode unknown")
	// A browser request is not found by an empty hash.
	mustNil(t, s.AuthRequests.Create(ctx, NewAuthRequest(t, c, Now)), "Create browser request")
	_, err = s.DeviceRequests.ByUserCode(ctx, "")
	wantErr(t, err, oauth.ErrNotFound, "ByUserCode empty")

	polled := device.Poll{Interval: device.DefaultInterval, LastAt: Now.Add(time.Second)}
	mustNil(t, s.DeviceRequests.RecordPoll(ctx, r.ID(), unpolled, polled), "RecordPoll")
	wantErr(t, s.DeviceRequests.RecordPoll(ctx, r.ID(), unpolled, polled), oauth.ErrConflict, "RecordPoll from a stale state")
	slowed := device.Poll{Interval: device.DefaultInterval + device.SlowDownStep, LastAt: Now.Add(2 * time.Second)}
	mustNil(t, s.DeviceRequests.RecordPoll(ctx, r.ID(), polled, slowed), "RecordPoll slow_down")
	if _, p, _, _ := s.DeviceRequests.ByDeviceCode(ctx, codes.Device); p != slowed {
		t.Fatalf("poll state %+v, want %+v", p, slowed)
	}
	ghostID, _ := authreq.NewID(rand.Reader)
	wantErr(t, s.DeviceRequests.RecordPoll(ctx, ghostID, unpolled, polled), oauth.ErrNotFound, "RecordPoll unknown")

	// Approval: the code goes into the row, sealed for the device too.
	approved, err := s.AuthRequests.Get(ctx, r.ID())
	mustNil(t, err, "Get")
	code, raw := ApproveWithCode(t, approved, Now.Add(3*time.Second))
	mustNil(t, s.AuthRequests.Decide(ctx, approved, authreq.StatusPending, &code), "Decide")
	got, _, sealed, err = s.DeviceRequests.ByDeviceCode(ctx, codes.Device)
	mustNil(t, err, "ByDeviceCode after approval")
	if !got.IsApproved() {
		t.Fatal("approval not stored")
	}
	opened, err := device.OpenCode(dc, sealed)
	if err != nil || opened != raw {
		t.Fatalf("sealed code opens to %q, %v", opened, err)
	}
	in := RedeemInput(t, c, opened, Now.Add(4*time.Second))
	in.RedirectURI, in.CodeVerifier = device.RedirectURI, device.Verifier(dc)
	var red grant.Redemption
	mustNil(t, s.Codes.Redeem(ctx, grant.HashOf(opened), use(in), func(code grant.Code) (grant.Redemption, error) {
		red, err = grant.Redeem(code, in)
		return red, err
	}), "Redeem the device's code")
	if red.Issue == nil || red.Issue.DataToken != DataToken || red.Issue.Grant.AuthRequestID != r.ID() {
		t.Fatalf("redemption %+v", red)
	}

	// Deleting the client deletes its device requests.
	mustNil(t, s.Clients.Delete(ctx, c.ID()), "Delete client")
	_, _, _, err = s.DeviceRequests.ByDeviceCode(ctx, codes.Device)
	wantErr(t, err, oauth.ErrNotFound, "ByDeviceCode after the client was deleted")
}

// testConcurrentDevicePoll: of concurrent polls from the same state — what every instance reads
// when a device polls twice at once — exactly one records; the rest get ErrConflict, so exactly
// one can go on to redeem the approval's code.
func testConcurrentDevicePoll(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	r, _, codes := newDeviceRequest(t, c, Now)
	mustNil(t, s.DeviceRequests.Create(ctx, r, codes, unpolled), "Create")
	portstest.Race(t, "RecordPoll", 16, 1, func(i int) error {
		return s.DeviceRequests.RecordPoll(ctx, r.ID(), unpolled, device.Poll{Interval: device.DefaultInterval, LastAt: Now.Add(time.Duration(i+1) * time.Millisecond)})
	}, oauth.ErrConflict)
}
