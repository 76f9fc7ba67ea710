package sqlstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
)

// TestUpgrade_SigningKeysKeepTheirHistory: ID-token keys stored before the one signing-key design
// (PEM text, created_at holding the activation time, retired_at, first_key) load after the
// upgrade as the same keys, active from their old activation time, and a rotation rewrites them.
func TestUpgrade_SigningKeysKeepTheirHistory(t *testing.T) {
	dbtest.Each(t, dbtest.Before(sqlstore.Migrations(), "20261206000001"), func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		var want []keys.Key
		for i, activeFrom := range []time.Time{t0, t0.Add(24 * time.Hour)} {
			priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			k, err := keys.FromPrivateKey(priv, activeFrom, activeFrom)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := x509.MarshalPKCS8PrivateKey(priv)
			pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			var first any
			if i == 0 {
				first = 1
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO oauth_signing_keys (id, algorithm, private_key_pem, created_at, first_key) VALUES (?, ?, ?, ?, ?)",
				k.ID, "ES256", pemText, activeFrom, first); err != nil {
				t.Fatal(err)
			}
			want = append(want, k)
		}
		dbtest.Upgrade(t, db, sqlstore.Migrations())

		store := sqlstore.New(db).SigningKeys
		set, err := store.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			got, ok := set.Lookup(w.ID)
			if !ok || !got.Private.Equal(w.Private) || !got.ActiveFrom.Equal(w.ActiveFrom) {
				t.Fatalf("key %s after the upgrade = %+v (found %v)", w.ID, got, ok)
			}
		}
		if a, _ := set.Active(t0.Add(time.Hour)); a.ID != want[0].ID {
			t.Errorf("signing key before the second's activation = %s, want %s", a.ID, want[0].ID)
		}
		if got := set.RetiredAt(want[0].ID); !got.Equal(want[1].ActiveFrom) {
			t.Errorf("first key retires at %v, want %v", got, want[1].ActiveFrom)
		}
		// The next write stores them as DER; they still load.
		if _, err := store.Update(ctx, func(s *keys.Set) (*keys.Set, error) { return s, nil }); err != nil {
			t.Fatal(err)
		}
		if again, err := store.Load(ctx); err != nil || again.Len() != 2 {
			t.Fatalf("after rewrite: %d keys, %v", again.Len(), err)
		}
	})
}

// TestUpgrade_CodesMoveIntoTheirRequests: a code issued before codes moved into their request's
// row (issue 9) still redeems after the upgrade, once, with everything it was bound to; a used
// code still reads as used by its grant.
func TestUpgrade_CodesMoveIntoTheirRequests(t *testing.T) {
	dbtest.Each(t, dbtest.Before(sqlstore.Migrations(), "20261208090001"), func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		stores := sqlstore.New(db)
		c, _ := oauthtest.NewClient(t)
		insertClientRow(t, db, c)
		insert := func(used bool) (grant.Code, string) {
			r := oauthtest.NewAuthRequest(t, c, oauthtest.Now)
			code, raw := oauthtest.ApproveWithCode(t, r, oauthtest.Now)
			s := r.Snapshot()
			if _, err := db.ExecContext(ctx, "INSERT INTO oauth_auth_requests (id, client_id, redirect_uri, scope, state, nonce, code_challenge, status, subject, approved_scope, created_at, expires_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				s.ID, s.ClientID, s.RedirectURI, s.Scope.String(), s.State, s.Nonce, s.Challenge, string(s.Status), s.Subject, s.ApprovedScope.String(), s.CreatedAt, s.ExpiresAt, s.DecidedAt); err != nil {
				t.Fatal(err)
			}
			var usedAt, grantID any
			if used {
				usedAt, grantID = oauthtest.Now.Add(time.Second), "00000000-0000-4000-8000-0000000000cc"
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO oauth_codes (hash, client_id, auth_request_id, redirect_uri, code_challenge, subject, scope, nonce, auth_time, issued_at, expires_at, used_at, grant_id, sealed_data_token, retry_sealed_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				string(code.Hash), code.ClientID, code.AuthRequestID, code.RedirectURI, code.Challenge.String(), code.Subject, code.Scope.String(), code.Nonce,
				code.AuthTime, code.IssuedAt, code.ExpiresAt, usedAt, grantID, code.SealedDataToken, code.SealedForRetry); err != nil {
				t.Fatal(err)
			}
			return code, raw
		}
		fresh, raw := insert(false)
		usedCode, _ := insert(true)
		dbtest.Upgrade(t, db, sqlstore.Migrations())

		got, err := stores.Codes.ByAuthRequest(ctx, usedCode.AuthRequestID)
		if err != nil || !got.Used() || got.GrantID != "00000000-0000-4000-8000-0000000000cc" {
			t.Fatalf("used code after the upgrade = %+v, %v", got, err)
		}
		if byReq, err := stores.Codes.ByAuthRequest(ctx, fresh.AuthRequestID); err != nil || byReq.Used() ||
			string(byReq.SealedForRetry) != string(fresh.SealedForRetry) {
			t.Fatalf("unused code after the upgrade = %+v, %v", byReq, err)
		}
		in := oauthtest.RedeemInput(t, c, raw, oauthtest.Now.Add(time.Second))
		var seen grant.Code
		err = stores.Codes.Redeem(ctx, fresh.Hash, oauth.CodeUse{GrantID: in.GrantID, At: in.Now, Until: in.Lifetimes.GrantEnd(in.Now)}, func(code grant.Code) (grant.Redemption, error) {
			seen = code
			return grant.Redeem(code, in)
		})
		if err != nil {
			t.Fatalf("redeeming a code issued before the upgrade: %v", err)
		}
		if seen.Hash != fresh.Hash || seen.Subject != fresh.Subject || seen.Nonce != fresh.Nonce || !seen.ExpiresAt.Equal(fresh.ExpiresAt) ||
			!seen.AuthTime.Equal(fresh.AuthTime) || string(seen.SealedDataToken) != string(fresh.SealedDataToken) || seen.Used() {
			t.Fatalf("code after the upgrade = %+v, want %+v", seen, fresh)
		}
		if _, g, err := stores.Grants.AccessToken(ctx, grant.HashOf(in.AccessToken)); err != nil || g.ID != in.GrantID {
			t.Fatalf("tokens of the redeemed code: grant %+v, %v", g, err)
		}
	})
}

// TestUpgrade_TokensShareOneTable: access and refresh tokens issued before they moved into one
// table (issue 9) still work after the upgrade: the access token with its grant and revocation,
// the refresh token rotates once and a reuse still revokes the grant.
func TestUpgrade_TokensShareOneTable(t *testing.T) {
	dbtest.Each(t, dbtest.Before(sqlstore.Migrations(), "20261208090002"), func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		stores := sqlstore.New(db)
		c, _ := oauthtest.NewClient(t)
		insertClientRow(t, db, c)
		access, refresh := oauthtest.NewTokens(t)
		grantID, now := "00000000-0000-4000-8000-0000000000dd", oauthtest.Now
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		exec("INSERT INTO oauth_grants (id, client_id, subject, scope, nonce, auth_request_id, auth_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			grantID, c.ID(), "user-1", "openid email", "n-1", "00000000-0000-4000-8000-0000000000ee", now, now, now.Add(30*24*time.Hour))
		sealedA, _ := grant.Seal(access, oauthtest.DataToken)
		sealedR, _ := grant.Seal(refresh, oauthtest.DataToken)
		exec("INSERT INTO oauth_access_tokens (hash, grant_id, client_id, subject, scope, issued_at, expires_at, sealed_data_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			string(grant.HashOf(access)), grantID, c.ID(), "user-1", "openid email", now, now.Add(time.Hour), sealedA)
		exec("INSERT INTO oauth_refresh_tokens (hash, grant_id, client_id, issued_at, expires_at, sealed_data_token) VALUES (?, ?, ?, ?, ?, ?)",
			string(grant.HashOf(refresh)), grantID, c.ID(), now, now.Add(24*time.Hour), sealedR)
		dbtest.Upgrade(t, db, sqlstore.Migrations())

		at, g, err := stores.Grants.AccessToken(ctx, grant.HashOf(access))
		if err != nil || g.ID != grantID || at.Subject != "user-1" || at.Scope.String() != "openid email" || !at.Active(g, now.Add(time.Minute)) {
			t.Fatalf("access token after the upgrade = %+v, grant %+v, %v", at, g, err)
		}
		if dt, err := grant.Open(access, at.SealedDataToken); err != nil || dt != oauthtest.DataToken {
			t.Fatalf("sealed data token after the upgrade: %q, %v", dt, err)
		}
		if _, _, err := stores.Grants.AccessToken(ctx, grant.HashOf(refresh)); err == nil {
			t.Fatal("a refresh token is found as an access token")
		}
		in := grant.RotateInput{RawRefreshToken: refresh, ClientID: c.ID(), Now: now.Add(time.Minute), Lifetimes: grant.DefaultLifetimes()}
		in.AccessToken, in.RefreshToken = oauthtest.NewTokens(t)
		rotate := func(in grant.RotateInput) (grant.Rotation, error) {
			var rot grant.Rotation
			err := stores.RefreshTokens.Rotate(ctx, grant.HashOf(in.RawRefreshToken), func(g grant.Grant, rt grant.RefreshToken) (grant.Rotation, error) {
				var err error
				rot, err = grant.Rotate(g, rt, in)
				return rot, err
			})
			return rot, err
		}
		if rot, err := rotate(in); err != nil || rot.Reuse {
			t.Fatalf("rotating a refresh token issued before the upgrade: %+v, %v", rot, err)
		}
		in.Now = now.Add(2 * time.Minute)
		in.AccessToken, in.RefreshToken = oauthtest.NewTokens(t)
		if rot, err := rotate(in); err != nil || !rot.Reuse {
			t.Fatalf("reusing the rotated token: %+v, %v; want a reuse that revokes", rot, err)
		}
		if _, g, _ := stores.Grants.AccessToken(ctx, grant.HashOf(access)); !g.Revoked() {
			t.Fatal("reuse of a rotated refresh token did not revoke its grant")
		}
	})
}

// insertClientRow stores c with the columns of the first schema (every later column has a
// default), so an upgrade test can start from any older schema: the current store writes columns
// an old schema does not have yet.
func insertClientRow(t *testing.T, db *bun.DB, c *client.Client) {
	t.Helper()
	s := c.Snapshot()
	uris, _ := json.Marshal(s.RedirectURIs)
	if _, err := db.ExecContext(context.Background(), "INSERT INTO oauth_clients (id, type, secret_hash, name, description, logo_url, redirect_uris, allowed_scopes, scope_reasons, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, string(s.Type), s.SecretHash, s.Name, s.Description, s.LogoURL, string(uris), s.AllowedScopes.String(), "{}", s.CreatedAt, s.UpdatedAt); err != nil {
		t.Fatal(err)
	}
}

// TestUpgrade_ClientsKeepTheirAuthMethod: clients registered before token_endpoint_auth_method
// existed load after the upgrade as client_secret_basic (confidential, secret still valid) and
// none (public), as they were documented to authenticate (decision 42).
func TestUpgrade_ClientsKeepTheirAuthMethod(t *testing.T) {
	dbtest.Each(t, dbtest.Before(sqlstore.Migrations(), "20261208800001"), func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		conf, secret := oauthtest.NewClient(t)
		pub, _, err := client.New(client.Params{Type: client.Public, Name: "Native", RedirectURIs: []string{"http://127.0.0.1/cb"},
			AllowedScopes: conf.AllowedScopes()}, rand.Reader, oauthtest.Now)
		if err != nil {
			t.Fatal(err)
		}
		insertClientRow(t, db, conf)
		insertClientRow(t, db, pub)
		dbtest.Upgrade(t, db, sqlstore.Migrations())
		stores := sqlstore.New(db)
		gotConf, err := stores.Clients.Get(ctx, conf.ID())
		if err != nil || gotConf.AuthMethod() != client.AuthSecretBasic || !gotConf.VerifySecret(secret) {
			t.Fatalf("confidential client after the upgrade: %v", err)
		}
		gotPub, err := stores.Clients.Get(ctx, pub.ID())
		if err != nil || gotPub.AuthMethod() != client.AuthNone {
			t.Fatalf("public client after the upgrade: %v", err)
		}
	})
}
