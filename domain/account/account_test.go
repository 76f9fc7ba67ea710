package account

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseEmailHash(t *testing.T) {
	t.Parallel()
	good := strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		want error
	}{
		{good, nil},
		{strings.ToUpper(good), ErrInvalidEmailHash},
		{good[:63], ErrInvalidEmailHash},
		{good + "a", ErrInvalidEmailHash},
		{strings.Repeat("g", 64), ErrInvalidEmailHash},
		{"", ErrInvalidEmailHash},
	}
	for _, tt := range tests {
		if _, err := ParseEmailHash(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("ParseEmailHash(%q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

// TestServerKey_FakeSalt: checklist 46 — the fake salt is deterministic, differs per email and per
// key, and has the exact form of a real salt.
func TestServerKey_FakeSalt(t *testing.T) {
	t.Parallel()
	k1, _ := NewServerKey(bytes.Repeat([]byte{1}, 32))
	k2, _ := NewServerKey(bytes.Repeat([]byte{2}, 32))
	h1, _ := ParseEmailHash(strings.Repeat("a", 64))
	h2, _ := ParseEmailHash(strings.Repeat("b", 64))
	if k1.FakeSalt(h1).String() != k1.FakeSalt(h1).String() {
		t.Error("fake salt not deterministic")
	}
	if k1.FakeSalt(h1).String() == k1.FakeSalt(h2).String() || k1.FakeSalt(h1).String() == k2.FakeSalt(h1).String() {
		t.Error("fake salt does not depend on email hash and key")
	}
	if _, err := ParseSalt(k1.FakeSalt(h1).String()); err != nil {
		t.Errorf("fake salt is not a valid real salt: %v", err)
	}
	// Lookup keys, fake salts and rate-limit keys are domain-separated.
	if strings.Contains(k1.LookupKey(h1), k1.FakeSalt(h1).String()) || k1.LookupKey(h1) == k2.LookupKey(h1) || k1.LookupKey(h1) == h1.String() {
		t.Error("lookup key is not a keyed hash distinct from the fake salt")
	}
	if _, err := NewServerKey(make([]byte, 31)); !errors.Is(err, ErrWeakServerKey) {
		t.Errorf("31-byte key: %v, want ErrWeakServerKey", err)
	}
}

func TestParseSaltAndAuthKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func(string) error
		in   string
		ok   bool
	}{
		{"salt16", func(s string) error { _, err := ParseSalt(s); return err }, "AAAAAAAAAAAAAAAAAAAAAA==", true},
		{"salt15", func(s string) error { _, err := ParseSalt(s); return err }, "AAAAAAAAAAAAAAAAAAAA", false},
		{"saltURL", func(s string) error { _, err := ParseSalt(s); return err }, "-_AAAAAAAAAAAAAAAAAAAA==", false},
		{"saltUnpadded", func(s string) error { _, err := ParseSalt(s); return err }, "AAAAAAAAAAAAAAAAAAAAAA", false},
		{"key32", func(s string) error { _, err := ParseAuthKey(s); return err }, strings.Repeat("A", 43) + "=", true},
		{"key31", func(s string) error { _, err := ParseAuthKey(s); return err }, strings.Repeat("A", 40) + "==", false},
	}
	for _, tt := range tests {
		if err := tt.fn(tt.in); (err == nil) != tt.ok {
			t.Errorf("%s(%q) error = %v, want ok=%v", tt.name, tt.in, err, tt.ok)
		}
	}
	k, _ := ParseAuthKey(strings.Repeat("A", 43) + "=")
	if k.String() != "[auth key]" {
		t.Error("AuthKey.String reveals the key")
	}
}

func TestKDF_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kdf KDF
		ok  bool
	}{
		{DefaultKDF(), true},
		{KDF{KDFAlgorithmPBKDF2, MaxIterations, KDFHashSHA256}, true},
		{KDF{KDFAlgorithmPBKDF2, MinIterations - 1, KDFHashSHA256}, false},
		{KDF{KDFAlgorithmPBKDF2, MaxIterations + 1, KDFHashSHA256}, false},
		{KDF{"PBKDF2-SHA1", MinIterations, "SHA-1"}, false},
		{KDF{"argon2", MinIterations, KDFHashSHA256}, false},
	}
	for _, tt := range tests {
		if err := tt.kdf.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.kdf, err, tt.ok)
		}
	}
}

// TestSession_Check covers decision 15: idle and absolute expiry.
func TestSession_Check(t *testing.T) {
	t.Parallel()
	p := Policy{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSession("s", "u", "h", start, p)
	tests := []struct {
		name     string
		lastSeen time.Time
		now      time.Time
		wantErr  bool
	}{
		{"Fresh", start, start, false},
		{"JustBeforeIdle", start, start.Add(30*time.Minute - time.Second), false},
		{"AtIdle", start, start.Add(30 * time.Minute), true},
		{"KeptAlive", start.Add(11 * time.Hour), start.Add(11*time.Hour + 20*time.Minute), false},
		{"AtAbsolute", start.Add(12*time.Hour - time.Minute), start.Add(12 * time.Hour), true},
		{"PastAbsolute", start.Add(13 * time.Hour), start.Add(13 * time.Hour), true},
	}
	for _, tt := range tests {
		s.LastSeenAt = tt.lastSeen
		if err := s.Check(tt.now, p); (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrSessionExpired)) {
			t.Errorf("%s: Check = %v, want expired=%v", tt.name, err, tt.wantErr)
		}
	}
	s.LastSeenAt = start
	if s.NeedsTouch(start.Add(59*time.Second)) || !s.NeedsTouch(start.Add(time.Minute)) {
		t.Error("NeedsTouch granularity is not one minute")
	}
	if err := (Policy{IdleTimeout: time.Hour, MaxAge: time.Minute}).Validate(); err == nil {
		t.Error("policy with max age below idle timeout accepted")
	}
}

func TestNewToken(t *testing.T) {
	t.Parallel()
	tok, hash, err := NewToken(bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 43 || hash != HashToken(tok) || len(hash) != 64 || strings.Contains(hash, tok) {
		t.Errorf("token %q hash %q", tok, hash)
	}
	if _, _, err := NewToken(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("short randomness accepted")
	}
}

func TestLimit(t *testing.T) {
	t.Parallel()
	l, err := ParseLimit("10/15m")
	if err != nil || l.Max != 10 || l.Window != 15*time.Minute {
		t.Fatalf("ParseLimit = %+v, %v", l, err)
	}
	for _, bad := range []string{"10", "x/1m", "10/x", "0/1m", "1/0s"} {
		if _, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) accepted", bad)
		}
	}
	now := time.Date(2026, 1, 1, 10, 7, 30, 0, time.UTC)
	if ws := l.WindowAt(now).Start; !ws.Equal(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("WindowStart = %v", ws)
	}
	if ra := l.RetryAfter(now); ra != 7*time.Minute+30*time.Second {
		t.Errorf("RetryAfter = %v, want 7m30s", ra)
	}
	if ra := l.RetryAfter(time.Date(2026, 1, 1, 10, 14, 59, 999, time.UTC)); ra != time.Second {
		t.Errorf("RetryAfter near the window end = %v, want 1s", ra)
	}
	if l.Admit(10, now) != nil || l.Admit(11, now) == nil {
		t.Error("Exceeded boundary wrong")
	}
}

func TestServerKey_SessionSID(t *testing.T) {
	k1, _ := NewServerKey(bytes.Repeat([]byte{1}, 32))
	k2, _ := NewServerKey(bytes.Repeat([]byte{2}, 32))
	const session = "0b7c6f1e-3c2a-4d8b-9e7f-1a2b3c4d5e6f"
	sid := k1.SessionSID(session)
	if sid != k1.SessionSID(session) {
		t.Fatal("not stable for one session")
	}
	if sid == k1.SessionSID("0b7c6f1e-3c2a-4d8b-9e7f-1a2b3c4d5e70") || sid == k2.SessionSID(session) {
		t.Fatal("same sid for another session or another key")
	}
	if len(sid) != 43 || strings.ContainsAny(sid, "+/=") || strings.Contains(sid, session) {
		t.Fatalf("sid %q: want 43 base64url characters unrelated to the session id", sid)
	}
	if sid == k1.RateLimitKey("x", session) || sid == base64.RawURLEncoding.EncodeToString(k1.mac("sva-core/account-lookup/v1", session)) {
		t.Fatal("sid not separated from the key's other uses")
	}
}
