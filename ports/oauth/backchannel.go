package oauth

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/domain/logout"
)

// DefaultBackchannelTimeout bounds one back-channel POST (Back-Channel Logout §2.8 asks the OP
// not to wait long for a relying app).
const DefaultBackchannelTimeout = 5 * time.Second

// backchannelBatch is how many deliveries one pass claims at a time; they are POSTed in parallel.
const backchannelBatch = 16

// Backchannel delivers back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0) from
// the outbox: the use cases that sign a user out of a client record a logout.Delivery in the
// same transaction as the fact, and DeliverDue — run by every instance's background loop, and
// woken at once by a recording on this instance — POSTs them with a bounded timeout, retrying a
// failure by the domain's schedule. A restart loses nothing: the outbox is in the database.
type Backchannel struct {
	outbox  BackchannelOutbox
	clients Clients // the algorithm each client's tokens are signed with
	signer  LogoutTokenSigner
	sender  BackchannelSender
	clock   Clock
	random  Random
	events  Events
	issuer  string
	timeout time.Duration
	wake    chan struct{}
}

// DeliveryReport counts what one DeliverDue pass did.
type DeliveryReport struct {
	Delivered, Retrying, Abandoned int
}

// Wakeups signals (coalesced) that this instance recorded deliveries that are due now; the
// background loop runs DeliverDue on it besides its periodic tick.
func (b *Backchannel) Wakeups() <-chan struct{} { return b.wake }

func (b *Backchannel) wakeUp() {
	select {
	case b.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// deliveries returns the outbox rows that tell the clients of grants that subject's sessions
// there ended: the tokens logout.Notices decides (sid only to clients that asked for it), for
// clients that registered a back-channel logout URI. A client deleted meanwhile is skipped: its
// grants went with it.
func (b *Backchannel) deliveries(ctx context.Context, subject string, grants []logout.GrantSession, now time.Time) ([]logout.Delivery, error) {
	clients := map[string]*client.Client{}
	for _, g := range grants {
		if _, seen := clients[g.ClientID]; seen {
			continue
		}
		c, err := b.clients.Get(ctx, g.ClientID)
		if errors.Is(err, ErrNotFound) {
			clients[g.ClientID] = nil
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("client %s of the signed-out user: %w", g.ClientID, err)
		}
		clients[g.ClientID] = c
	}
	wantsSID := func(id string) bool { return clients[id] != nil && clients[id].WantsSessionID() }
	var out []logout.Delivery
	for _, n := range logout.Notices(subject, grants, wantsSID) {
		c := clients[n.ClientID]
		if c == nil || c.BackchannelLogoutURI() == "" {
			continue
		}
		id, err := randomID(b.random)
		if err != nil {
			return nil, err
		}
		d, err := logout.NewDelivery(id, c.ID(), c.BackchannelLogoutURI(), n.Subject, n.SessionID, now)
		if err != nil {
			return nil, fmt.Errorf("back-channel delivery: %w", err)
		}
		out = append(out, d)
	}
	return out, nil
}

// record enqueues ds in one write and wakes the delivery loop; nothing to record is a no-op. For
// use cases whose only write is the notice (the fact they tell of is elsewhere or already stored).
func (b *Backchannel) record(ctx context.Context, ds []logout.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if err := b.outbox.Enqueue(ctx, ds...); err != nil {
		return fmt.Errorf("record back-channel logout: %w", err)
	}
	b.wakeUp()
	return nil
}

// DeliverDue attempts every delivery due now, batch by batch, until none is due. Each claimed
// delivery is leased for the timeout plus a margin, so an instance that dies mid-attempt leaves
// it to be retried. Errors are internal (storage); a failed POST is not an error, it is recorded
// on the delivery.
func (b *Backchannel) DeliverDue(ctx context.Context) (DeliveryReport, error) {
	var rep DeliveryReport
	for {
		now := clockNow(b.clock)
		batch, err := b.outbox.Claim(ctx, now, b.lease(), backchannelBatch)
		if err != nil {
			return rep, fmt.Errorf("claim back-channel deliveries: %w", err)
		}
		if len(batch) == 0 {
			return rep, nil
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			saveErr error
		)
		for _, d := range batch {
			wg.Go(func() {
				err := b.attempt(ctx, &d)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && !errors.Is(err, ErrNotFound) {
					saveErr = errors.Join(saveErr, err)
					return
				}
				switch d.Status {
				case logout.Delivered:
					rep.Delivered++
				case logout.Abandoned:
					rep.Abandoned++
				default:
					rep.Retrying++
				}
			})
		}
		wg.Wait()
		if saveErr != nil {
			return rep, saveErr
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
}

// lease is how long a claimed delivery is left to its instance: one attempt's timeout, signing
// and saving included, with a margin.
func (b *Backchannel) lease() time.Duration { return 2*b.timeout + 10*time.Second }

// attempt signs a fresh logout token, POSTs it and saves the outcome on d.
func (b *Backchannel) attempt(ctx context.Context, d *logout.Delivery) error {
	jti, err := randomID(b.random)
	if err != nil {
		return err
	}
	tok, err := logout.NewToken(b.issuer, d.ClientID, d.Subject, d.SessionID, jti, clockNow(b.clock))
	if err != nil {
		return fmt.Errorf("logout token for delivery %s: %w", d.ID, err)
	}
	// Signed like the client's ID tokens; a client deleted since the logout gets the default.
	alg := keys.AlgorithmES256
	if c, err := b.clients.Get(ctx, d.ClientID); err == nil {
		alg = c.IDTokenSignedResponseAlg()
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout token for delivery %s: load client: %w", d.ID, err)
	}
	signed, err := b.signer.SignLogoutToken(ctx, tok, alg)
	if err != nil {
		return fmt.Errorf("sign logout token: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, b.timeout)
	sendErr := b.sender.Send(sctx, d.URI, signed)
	cancel()
	now := clockNow(b.clock)
	ev := Event{ClientID: d.ClientID, Subject: d.Subject}
	if sendErr == nil {
		d.Succeeded(now)
		ev.Kind = EventBackchannelLogoutDelivered
	} else {
		d.Failed(sendErr.Error(), errors.Is(sendErr, logout.ErrForbiddenAddress), now)
		ev.Kind = EventBackchannelLogoutFailed
		if d.Status == logout.Abandoned {
			ev.Kind = EventBackchannelLogoutAbandoned
		}
	}
	// Saved with a context of its own: the outcome must be recorded even when the loop is being
	// stopped, or a delivered logout would be sent again after the lease.
	sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), b.timeout)
	defer cancel()
	if err := b.outbox.Save(sctx, *d); err != nil {
		return fmt.Errorf("save back-channel delivery %s: %w", d.ID, err)
	}
	b.events.Record(ctx, ev)
	return nil
}

// randomID is 128 random bits in hex: delivery ids and logout-token jti values.
func randomID(r Random) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
