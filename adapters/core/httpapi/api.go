// Package httpapi is Core's HTTP API (docs/architecture.md "Core API") on huma: account and session
// endpoints, the vault, attestation, the session-authenticated proxy to the provider, app
// connections, the data-token JWKS and health checks. Handlers only decode, call a use-case family and
// map the result; errors meet HTTP in one place (errorFor).
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/sva-oauth/sva/adapters/telemetry"
	core "github.com/sva-oauth/sva/ports/core"
)

// Title and Version describe the API in its OpenAPI document.
const (
	Title   = "SVA Core API"
	Version = "1.0.0"
)

// securityScheme is the name of the session bearer scheme in the OpenAPI document.
const securityScheme = "session"

// Options are the HTTP-level settings and collaborators besides the use cases.
type Options struct {
	// TrustProxy makes the client address the last X-Forwarded-For entry (the address the trusted
	// reverse proxy saw) instead of the connection's address. Only set it behind such a proxy:
	// otherwise a client can pick its own rate-limit bucket.
	TrustProxy bool
	// Ready reports whether the service can serve (a database ping); nil means always ready.
	Ready func(ctx context.Context) error
	// JWKS returns the pre-encoded data-token JWK Set; nil serves an empty set (HS256 mode).
	JWKS func() []byte
	// MaxVaultBodyBytes bounds the PUT /api/vault/ request body; it should allow the vault limits
	// after base64 and JSON overhead. Zero means 4 MiB.
	MaxVaultBodyBytes int64
	Logger            *slog.Logger
}

// NewAPI returns a huma API on mux with Core's conventions: plain JSON error bodies, no `$schema`
// links in responses (the seed's shapes are exact), and the session bearer security scheme. Paths
// that end in "/" match exactly (Go's ServeMux would otherwise treat them as prefixes).
func NewAPI(mux *http.ServeMux) huma.API {
	cfg := huma.DefaultConfig(Title, Version)
	cfg.CreateHooks = nil
	cfg.DocsPath = ""
	cfg.Transformers = append(cfg.Transformers, transformErrors)
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		securityScheme: {Type: "http", Scheme: "bearer", Description: "Opaque session token from register or login."},
	}
	return humago.New(exactMux{mux}, cfg)
}

// exactMux registers "…/" patterns as "…/{$}" so they match only the path itself.
type exactMux struct{ *http.ServeMux }

func (m exactMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if strings.HasSuffix(pattern, "/") {
		pattern += "{$}"
	}
	m.ServeMux.HandleFunc(pattern, h)
}

// handlers holds what every handler needs.
type handlers struct {
	identity *core.Identity
	vault    *core.Vault
	consent  *core.Consent
	signOut  *core.SignOut
	opts     Options
	log      *slog.Logger
}

// Register adds every Core operation to api, served by the use-case families of uc (nil: the
// OpenAPI document only).
func Register(api huma.API, uc *core.UseCases, opts Options) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxVaultBodyBytes == 0 {
		opts.MaxVaultBodyBytes = 4 << 20
	}
	h := &handlers{opts: opts, log: opts.Logger}
	if uc != nil {
		h.identity, h.vault, h.consent, h.signOut = uc.Identity, uc.Vault, uc.Consent, uc.SignOut
	}
	api.UseMiddleware(telemetry.HumaOperation, h.clientAddress, h.authenticate)

	h.registerAccounts(api)
	h.registerVault(api)
	h.registerConsent(api)
	h.registerConnections(api)
	h.registerSignOut(api)
	h.registerWellKnown(api)
	documentErrors(api)
}

// auth marks an operation as requiring a session.
var auth = []map[string][]string{{securityScheme: {}}}

// optionalAuth marks an operation a browser may call with or without a session (OpenAPI: the
// empty requirement allows anonymous calls). A missing or dead session token makes the call
// anonymous instead of 401.
var optionalAuth = []map[string][]string{{securityScheme: {}}, {}}

type clientAddrKey struct{}

// clientAddress stores the caller's address for rate limiting.
func (h *handlers) clientAddress(ctx huma.Context, next func(huma.Context)) {
	addr := ctx.RemoteAddr()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if h.opts.TrustProxy {
		if xff := ctx.Header("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				addr = last
			}
		}
	}
	next(huma.WithValue(ctx, clientAddrKey{}, addr))
}

func clientAddr(ctx context.Context) string {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	return s
}

// authenticate resolves the bearer session of operations that declare the session scheme and
// stores the principal in the context; anything else gets 401 before the handler runs (checklist 41).
func (h *handlers) authenticate(ctx huma.Context, next func(huma.Context)) {
	if op := ctx.Operation(); op == nil || len(op.Security) == 0 {
		next(ctx)
		return
	}
	token := ""
	if scheme, rest, ok := strings.Cut(ctx.Header("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(rest)
	}
	p, err := h.identity.Authenticate(ctx.Context(), token)
	if errors.Is(err, core.ErrUnauthenticated) && slices.ContainsFunc(ctx.Operation().Security, func(r map[string][]string) bool { return len(r) == 0 }) {
		next(ctx) // anonymous call of an optionalAuth operation
		return
	}
	if err != nil {
		h.writeError(ctx, errorFor(ctx.Context(), h.log, err))
		return
	}
	next(huma.WithContext(ctx, core.NewContext(ctx.Context(), p)))
}

// writeError writes an error from a middleware (handlers return theirs to huma).
func (h *handlers) writeError(ctx huma.Context, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = newAPIError(http.StatusInternalServerError, errorBody{Error: "internal_error"})
	}
	for k, vs := range e.headers {
		for _, v := range vs {
			ctx.AppendHeader(k, v)
		}
	}
	ctx.SetHeader("Content-Type", "application/json")
	ctx.SetStatus(e.status)
	if _, werr := ctx.BodyWriter().Write(e.body); werr != nil {
		h.log.DebugContext(ctx.Context(), "write error response", "error", werr)
	}
}

// signedIn is the handler of a secured operation: serve gets the authenticated caller (the
// middleware guarantees one; without it the answer is 401) and every error serve returns meets
// HTTP in errorFor, so an operation's body says only what it does for that caller.
func signedIn[I, O any](h *handlers, serve func(context.Context, core.Principal, *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		p, ok := core.PrincipalFromContext(ctx)
		if !ok {
			return nil, errorFor(ctx, h.log, core.ErrUnauthenticated)
		}
		out, err := serve(ctx, p, in)
		if err != nil {
			return nil, errorFor(ctx, h.log, err)
		}
		return out, nil
	}
}

// documentErrors makes the OpenAPI document describe the error bodies Core really sends
// (application/json errorBody) instead of huma's default problem+json model.
func documentErrors(api huma.API) {
	oapi := api.OpenAPI()
	ref := oapi.Components.Schemas.Schema(reflect.TypeFor[errorBody](), true, "Error")
	for _, item := range oapi.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op == nil {
				continue
			}
			for code, resp := range op.Responses {
				if code == "default" || (len(code) == 3 && code[0] >= '4') {
					resp.Content = map[string]*huma.MediaType{"application/json": {Schema: ref}}
				}
			}
		}
	}
	schemas := oapi.Components.Schemas.Map()
	delete(schemas, "ErrorModel")
	delete(schemas, "ErrorDetail")
	// huma cannot mark a struct-typed field nullable; existing_connection is null when there is no
	// active connection, so say so for generated clients.
	if body, ok := schemas["AuthRequestOutputBody"]; ok {
		if prop, ok := body.Properties["existing_connection"]; ok && prop.Ref != "" {
			body.Properties["existing_connection"] = &huma.Schema{Description: prop.Description,
				AnyOf: []*huma.Schema{{Ref: prop.Ref}, {Type: "null"}}}
		}
	}
}
