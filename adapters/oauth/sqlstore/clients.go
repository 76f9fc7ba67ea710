package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/ports/oauth"
)

// ClientStore implements oauth.Clients.
type ClientStore struct {
	db  *bun.DB
	get *sqldb.Prepared // every authorization request reads its client: prepared once

	// Every token request reads its client with the lockout counters: one prepared statement
	// per number of counter keys (callers pass a fixed few), prepared once per connection.
	mu         sync.Mutex
	withCounts map[int]*sqldb.Prepared
}

func newClientStore(db *bun.DB) *ClientStore {
	return &ClientStore{db: db, get: sqldb.Prepare(db, "SELECT * FROM oauth_clients WHERE id = ?"), withCounts: map[int]*sqldb.Prepared{}}
}

// maxPreparedKeys bounds the statements withCounts keeps; more keys run unprepared.
const maxPreparedKeys = 4

// forAuthentication is the prepared read of a client with the highest failure count among n keys.
func (s *ClientStore) forAuthentication(n int) *sqldb.Prepared {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.withCounts[n]
	if !ok {
		in := strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
		p = sqldb.Prepare(s.db, "SELECT client_row.*, (SELECT COALESCE(MAX(f.failures), 0) FROM oauth_auth_failures AS f"+
			" WHERE f.bucket_key IN ("+in+") AND f.window_start = ?) AS failures FROM oauth_clients AS client_row WHERE client_row.id = ?")
		s.withCounts[n] = p
	}
	return p
}

type clientRow struct {
	bun.BaseModel `bun:"table:oauth_clients"`

	ID            string `bun:"id,pk"`
	Type          string `bun:"type"`
	SecretHash    []byte `bun:"secret_hash"`
	Name          string `bun:"name"`
	Description   string `bun:"description"`
	LogoURL       string `bun:"logo_url"`
	RedirectURIs  string `bun:"redirect_uris"`
	AllowedScopes string `bun:"allowed_scopes"`
	ScopeReasons  string `bun:"scope_reasons"`
	Required      string `bun:"required_scopes"`
	// OpenID Connect registration metadata.
	PostLogoutRedirectURIs string    `bun:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string    `bun:"backchannel_logout_uri"`
	BackchannelSessionReq  bool      `bun:"backchannel_logout_session_required"`
	RequirePAR             bool      `bun:"require_pushed_authorization_requests"`
	RequireAuthTime        bool      `bun:"require_auth_time"`
	AuthMethod             string    `bun:"token_endpoint_auth_method"`
	JWKS                   string    `bun:"jwks,nullzero"`
	JWKSURI                string    `bun:"jwks_uri"`
	IDTokenAlg             string    `bun:"id_token_signed_response_alg"`
	GrantTypes             string    `bun:"grant_types"`
	MachineScopes          string    `bun:"machine_scopes"`
	CreatedAt              time.Time `bun:"created_at"`
	UpdatedAt              time.Time `bun:"updated_at"`
}

type scopeReasonJSON struct {
	Description string `json:"description"`
	Reason      string `json:"reason"`
}

func clientToRow(c *client.Client) (clientRow, error) {
	s := c.Snapshot()
	uris, err := json.Marshal(s.RedirectURIs)
	if err != nil {
		return clientRow{}, fmt.Errorf("encode redirect URIs: %w", err)
	}
	reasons := make(map[string]scopeReasonJSON, len(s.ScopeReasons))
	for n, r := range s.ScopeReasons {
		reasons[string(n)] = scopeReasonJSON(r)
	}
	rj, err := json.Marshal(reasons)
	if err != nil {
		return clientRow{}, fmt.Errorf("encode scope reasons: %w", err)
	}
	var secret []byte
	if len(s.SecretHash) > 0 {
		secret = s.SecretHash
	}
	postLogout := s.Logout.PostLogoutRedirectURIs
	if postLogout == nil {
		postLogout = []string{}
	}
	pl, err := json.Marshal(postLogout)
	if err != nil {
		return clientRow{}, fmt.Errorf("encode post-logout redirect URIs: %w", err)
	}
	return clientRow{
		ID: s.ID, Type: string(s.Type), SecretHash: secret, Name: s.Name, Description: s.Description,
		LogoURL: s.LogoURL, RedirectURIs: string(uris), AllowedScopes: s.AllowedScopes.String(),
		ScopeReasons: string(rj), Required: s.RequiredScopes.String(),
		PostLogoutRedirectURIs: string(pl), BackchannelLogoutURI: s.Logout.BackchannelURI,
		BackchannelSessionReq: s.Logout.BackchannelSessionRequired, RequirePAR: s.RequirePushedAuthorizationRequests,
		RequireAuthTime: s.RequireAuthTime, AuthMethod: string(s.AuthMethod), JWKS: s.Keys.JWKS, JWKSURI: s.Keys.JWKSURI, IDTokenAlg: s.IDTokenSignedResponseAlg,
		GrantTypes: joinGrants(s.GrantTypes), MachineScopes: strings.Join(s.MachineScopes, " "),
		CreatedAt: ts(s.CreatedAt), UpdatedAt: ts(s.UpdatedAt),
	}, nil
}

func clientFromRow(r clientRow) (*client.Client, error) {
	var uris []string
	if err := json.Unmarshal([]byte(r.RedirectURIs), &uris); err != nil {
		return nil, fmt.Errorf("stored client %s: redirect URIs: %w", r.ID, err)
	}
	var rj map[string]scopeReasonJSON
	if err := json.Unmarshal([]byte(r.ScopeReasons), &rj); err != nil {
		return nil, fmt.Errorf("stored client %s: scope reasons: %w", r.ID, err)
	}
	allowed, err := scope.Parse(r.AllowedScopes)
	if err != nil {
		return nil, fmt.Errorf("stored client %s: allowed scopes: %w", r.ID, err)
	}
	required, err := scope.Parse(r.Required)
	if err != nil {
		return nil, fmt.Errorf("stored client %s: required scopes: %w", r.ID, err)
	}
	reasons := make(map[scope.Name]client.ScopeReason, len(rj))
	for n, v := range rj {
		reasons[scope.Name(n)] = client.ScopeReason(v)
	}
	var postLogout []string
	if err := json.Unmarshal([]byte(r.PostLogoutRedirectURIs), &postLogout); err != nil {
		return nil, fmt.Errorf("stored client %s: post-logout redirect URIs: %w", r.ID, err)
	}
	return client.Rehydrate(client.Snapshot{ID: r.ID, SecretHash: r.SecretHash, CreatedAt: fromTS(r.CreatedAt), UpdatedAt: fromTS(r.UpdatedAt), Params: client.Params{
		Type: client.Type(r.Type), Name: r.Name, Description: r.Description,
		LogoURL: r.LogoURL, RedirectURIs: uris, AllowedScopes: allowed, ScopeReasons: reasons, RequiredScopes: required,
		Logout: client.Logout{PostLogoutRedirectURIs: postLogout, BackchannelURI: r.BackchannelLogoutURI,
			BackchannelSessionRequired: r.BackchannelSessionReq},
		RequirePushedAuthorizationRequests: r.RequirePAR, RequireAuthTime: r.RequireAuthTime,
		AuthMethod: client.AuthMethod(r.AuthMethod), Keys: client.Keys{JWKS: r.JWKS, JWKSURI: r.JWKSURI},
		IDTokenSignedResponseAlg: r.IDTokenAlg,
		GrantTypes:               splitGrants(r.GrantTypes), MachineScopes: strings.Fields(r.MachineScopes),
	}})
}

func joinGrants(gs []client.GrantType) string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = string(g)
	}
	return strings.Join(out, " ")
}

func splitGrants(s string) []client.GrantType {
	var out []client.GrantType
	for _, g := range strings.Fields(s) {
		out = append(out, client.GrantType(g))
	}
	if out == nil {
		out = []client.GrantType{} // an empty column is invalid, not "the default": Rehydrate refuses it
	}
	return out
}

// Create implements oauth.Clients.
func (s *ClientStore) Create(ctx context.Context, c *client.Client) error {
	row, err := clientToRow(c)
	if err != nil {
		return fmt.Errorf("create client %s: %w", c.ID(), err)
	}
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		if sqldb.IsUniqueViolation(err) {
			return fmt.Errorf("create client %s: %w", c.ID(), oauth.ErrAlreadyExists)
		}
		return fmt.Errorf("create client %s: %w", c.ID(), err)
	}
	return nil
}

// Get implements oauth.Clients.
func (s *ClientStore) Get(ctx context.Context, id string) (*client.Client, error) {
	var row clientRow
	if err := s.get.ScanOne(ctx, &row, id); err != nil {
		return nil, notFound(err, "get client "+id)
	}
	return clientFromRow(row)
}

// clientWithFailuresRow is a client row with the lockout count read beside it.
type clientWithFailuresRow struct {
	clientRow `bun:",extend"`
	Failures  int `bun:"failures,scanonly"`
}

// GetForAuthentication implements oauth.Clients: the client row and, as a scalar subquery on the
// counters' primary key, the highest failure count among keys in the window — one statement.
func (s *ClientStore) GetForAuthentication(ctx context.Context, id string, w client.FailureWindow, keys ...string) (*client.Client, int, error) {
	var row clientWithFailuresRow
	if n := len(keys); n > 0 && n <= maxPreparedKeys {
		args := make([]any, 0, n+2)
		for _, k := range keys {
			args = append(args, k)
		}
		args = append(args, sqldb.TimeArg(s.db, ts(w.Start)), id)
		if err := s.forAuthentication(n).ScanOne(ctx, &row, args...); err != nil {
			return nil, 0, notFound(err, "get client "+id)
		}
		c, err := clientFromRow(row.clientRow)
		if err != nil {
			return nil, 0, err
		}
		return c, row.Failures, nil
	}
	q := s.db.NewSelect().Model(&row).ColumnExpr("client_row.*")
	if len(keys) > 0 {
		q = q.ColumnExpr("(SELECT COALESCE(MAX(f.failures), 0) FROM oauth_auth_failures AS f WHERE f.bucket_key IN (?) AND f.window_start = ?) AS failures",
			bun.In(keys), ts(w.Start))
	}
	if err := q.Where("client_row.id = ?", id).Scan(ctx); err != nil {
		return nil, 0, notFound(err, "get client "+id)
	}
	c, err := clientFromRow(row.clientRow)
	if err != nil {
		return nil, 0, err
	}
	return c, row.Failures, nil
}

// List implements oauth.Clients.
func (s *ClientStore) List(ctx context.Context) ([]*client.Client, error) {
	var rows []clientRow
	if err := s.db.NewSelect().Model(&rows).Order("created_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	out := make([]*client.Client, 0, len(rows))
	for _, r := range rows {
		c, err := clientFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Update implements oauth.Clients.
func (s *ClientStore) Update(ctx context.Context, id string, fn func(*client.Client) error) error {
	return sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var row clientRow
		if err := sqldb.ForUpdate(tx.NewSelect().Model(&row).Where("id = ?", id)).Scan(ctx); err != nil {
			return notFound(err, "update client "+id)
		}
		c, err := clientFromRow(row)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return fmt.Errorf("update client %s: %w", id, err)
		}
		if c.ID() != id {
			return fmt.Errorf("update client %s: the id cannot change", id)
		}
		next, err := clientToRow(c)
		if err != nil {
			return fmt.Errorf("update client %s: %w", id, err)
		}
		if _, err := tx.NewUpdate().Model(&next).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update client %s: %w", id, err)
		}
		return nil
	})
}

// Delete implements oauth.Clients. Foreign keys cascade to the client's requests, codes, grants
// and tokens.
func (s *ClientStore) Delete(ctx context.Context, id string) error {
	res, err := s.db.NewDelete().Model((*clientRow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete client %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("delete client %s: %w", id, err)
	} else if !ok {
		return fmt.Errorf("delete client %s: %w", id, oauth.ErrNotFound)
	}
	return nil
}
