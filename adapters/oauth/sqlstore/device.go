package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/ports/oauth"
)

// DeviceRequestStore implements oauth.DeviceRequests over the authorization requests' table: a
// device authorization is one row, like any request, with its device columns set.
type DeviceRequestStore struct {
	db       *bun.DB
	requests *AuthRequestStore // a device request is inserted as any request
}

// Create implements oauth.DeviceRequests with one INSERT; the unique indexes on the id and both
// hashes and the client's foreign key do the checking.
func (s *DeviceRequestStore) Create(ctx context.Context, r *authreq.Request, codes oauth.DeviceCodes, p device.Poll) error {
	if !r.IsDevice() || codes.Device == "" || codes.User == "" {
		return fmt.Errorf("create device request %s: not a device request with both codes", r.ID())
	}
	row := authRequestToRow(r)
	row.DeviceCodeHash, row.UserCodeHash = string(codes.Device), string(codes.User)
	row.DeviceInterval, row.DevicePolledAt = pollColumns(p)
	return s.requests.insertRow(ctx, &row)
}

// ByUserCode implements oauth.DeviceRequests (one read by a unique index).
func (s *DeviceRequestStore) ByUserCode(ctx context.Context, h device.Hash) (*authreq.Request, error) {
	var row authRequestRow
	if err := s.db.NewSelect().Model(&row).Where("user_code_hash = ?", string(h)).Scan(ctx); err != nil {
		return nil, notFound(err, "device request by user code")
	}
	return authRequestFromRow(row)
}

// ByDeviceCode implements oauth.DeviceRequests (one read by a unique index).
func (s *DeviceRequestStore) ByDeviceCode(ctx context.Context, h device.Hash) (*authreq.Request, device.Poll, []byte, error) {
	var row authRequestRow
	if err := s.db.NewSelect().Model(&row).Where("device_code_hash = ?", string(h)).Scan(ctx); err != nil {
		return nil, device.Poll{}, nil, notFound(err, "device request by device code")
	}
	r, err := authRequestFromRow(row)
	if err != nil {
		return nil, device.Poll{}, nil, err
	}
	p := device.Poll{Interval: time.Duration(row.DeviceInterval) * time.Second}
	if row.DevicePolledAt != 0 {
		p.LastAt = time.UnixMicro(row.DevicePolledAt).UTC()
	}
	return r, p, row.DeviceSealedCode, nil
}

// RecordPoll implements oauth.DeviceRequests with one UPDATE conditional on the stored poll state.
func (s *DeviceRequestStore) RecordPoll(ctx context.Context, id string, prev, next device.Poll) error {
	prevInterval, prevAt := pollColumns(prev)
	nextInterval, nextAt := pollColumns(next)
	res, err := s.db.NewUpdate().Model((*authRequestRow)(nil)).
		Set("device_interval = ?", nextInterval).Set("device_polled_at = ?", nextAt).
		Where("id = ?", id).Where("device_code_hash IS NOT NULL").
		Where("device_interval = ?", prevInterval).Where("device_polled_at = ?", prevAt).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record poll of device request %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("record poll of device request %s: %w", id, err)
	} else if ok {
		return nil
	}
	exists, err := s.db.NewSelect().Model((*authRequestRow)(nil)).Where("id = ?", id).Where("device_code_hash IS NOT NULL").Exists(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("record poll of device request %s: %w", id, err)
	case !exists:
		return fmt.Errorf("record poll of device request %s: %w", id, oauth.ErrNotFound)
	}
	return fmt.Errorf("record poll of device request %s: %w", id, oauth.ErrConflict)
}

// pollColumns is a poll state as stored: whole seconds, Unix microseconds (0 = never polled).
func pollColumns(p device.Poll) (interval, polledAt int64) {
	if !p.LastAt.IsZero() {
		polledAt = p.LastAt.UnixMicro()
	}
	return int64(p.Interval / time.Second), polledAt
}
