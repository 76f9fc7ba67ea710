package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/domain/account"
	core "github.com/sva-oauth/sva/ports/core"
)

// Operation IDs, listed so tests and the OpenAPI document use the same names.
const (
	opGetSalt             = "getSalt"
	opRegister            = "register"
	opLogin               = "login"
	opLogout              = "logout"
	opListSessions        = "listSessions"
	opRevokeSession       = "revokeSession"
	opRevokeOtherSessions = "revokeOtherSessions"
	opMe                  = "getMe"
	opGetVault            = "getVault"
	opReplaceVault        = "replaceVault"
	opAttestData          = "attestData"
	opGetAuthRequest      = "getAuthRequest"
	opCompleteAuthRequest = "completeAuthRequest"
	opApproveAuthRequest  = "approveAuthRequest"
	opDenyAuthRequest     = "denyAuthRequest"
	opResolveUserCode     = "resolveUserCode"
	opAnswerSilently      = "answerAuthRequestSilently"
	opListConnections     = "listConnections"
	opRevokeConnection    = "revokeConnection"
	opJWKS                = "getDataTokenJWKS"
	opHealthz             = "healthz"
	opReadyz              = "readyz"
)

type kdfParams struct {
	Algorithm  string `json:"algorithm" enum:"PBKDF2-SHA256" doc:"Key-derivation function the browser runs on the master password."`
	Iterations int    `json:"iterations" minimum:"600000" maximum:"10000000"`
	Hash       string `json:"hash" enum:"SHA-256"`
}

func toKDFParams(k account.KDF) kdfParams {
	return kdfParams{Algorithm: k.Algorithm, Iterations: k.Iterations, Hash: k.Hash}
}

type sealed struct {
	Ciphertext string `json:"ciphertext" maxLength:"2097152" doc:"Standard base64 AES-256-GCM ciphertext (tag included)."`
	IV         string `json:"iv" maxLength:"64" doc:"Standard base64 12-byte AES-GCM IV."`
}

type getSaltInput struct {
	Body struct {
		EmailHash string `json:"email_hash" maxLength:"64" doc:"Lowercase hex SHA-256 of the trimmed, lower-cased email, computed in the browser."`
	}
}

type saltOutput struct {
	Body struct {
		Salt string    `json:"salt" doc:"Standard base64 of 16 bytes. Unknown accounts get a deterministic fake salt of the same form."`
		KDF  kdfParams `json:"kdf"`
	}
}

type registerInput struct {
	UserAgent string `header:"User-Agent" doc:"The browser's user agent (a consent server relays its browser's). Only a coarse description such as \"Firefox on Linux\" is kept, for the sessions list."`
	Body      struct {
		EmailHash       string    `json:"email_hash" maxLength:"64"`
		Salt            string    `json:"salt" maxLength:"64"`
		KDF             kdfParams `json:"kdf"`
		AuthKey         string    `json:"auth_key" maxLength:"64" doc:"Standard base64 of the 32-byte authentication key derived in the browser; never the master password."`
		WrappedVaultKey sealed    `json:"wrapped_vault_key"`
	}
}

type sessionOutput struct {
	Body struct {
		SessionToken string    `json:"session_token" doc:"Opaque bearer token; shown once."`
		UserID       string    `json:"user_id"`
		ExpiresAt    time.Time `json:"expires_at" doc:"Absolute expiry; the session also ends after the idle timeout."`
	}
}

func toSessionOutput(g core.SessionGrant) *sessionOutput {
	out := &sessionOutput{}
	out.Body.SessionToken, out.Body.UserID, out.Body.ExpiresAt = g.Token, g.UserID, g.ExpiresAt
	return out
}

type loginInput struct {
	UserAgent string `header:"User-Agent" doc:"As for register: only a coarse description is kept."`
	Body      struct {
		EmailHash string `json:"email_hash" maxLength:"64"`
		AuthKey   string `json:"auth_key" maxLength:"64"`
	}
}

type sessionInfo struct {
	ID            string    `json:"id"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	Current       bool      `json:"current" doc:"True for the session making this request."`
	Device        string    `json:"device" doc:"Coarse description of the browser that signed in, such as \"Firefox on Linux\"; empty when unknown. No address or fingerprint is kept."`
}

type sessionsOutput struct {
	Body struct {
		Sessions []sessionInfo `json:"sessions"`
	}
}

type sessionIDInput struct {
	SessionID string `path:"session_id" maxLength:"64"`
}

type revokedOutput struct {
	Body struct {
		Revoked int `json:"revoked"`
	}
}

type meOutput struct {
	Body struct {
		UserID    string    `json:"user_id"`
		CreatedAt time.Time `json:"created_at"`
	}
}

func (h *handlers) registerAccounts(api huma.API) {
	const tag = "Accounts"
	huma.Register(api, huma.Operation{OperationID: opGetSalt, Method: http.MethodPost, Path: "/api/auth/zk/get-salt/", Tags: []string{tag},
		Summary:     "Get the salt and KDF parameters for an email hash",
		Description: "Unknown accounts get a deterministic fake salt indistinguishable from a real one. Rate limited per account and per address.",
		Errors:      []int{400, 429}, MaxBodyBytes: 4 << 10},
		func(ctx context.Context, in *getSaltInput) (*saltOutput, error) {
			res, err := h.identity.GetSalt(ctx, in.Body.EmailHash, clientAddr(ctx))
			if err != nil {
				return nil, errorFor(ctx, h.log, err)
			}
			out := &saltOutput{}
			out.Body.Salt, out.Body.KDF = res.Salt, toKDFParams(res.KDF)
			return out, nil
		})

	huma.Register(api, huma.Operation{OperationID: opRegister, Method: http.MethodPost, Path: "/api/auth/zk/register/", Tags: []string{tag},
		Summary: "Create an account and its vault, and sign in", DefaultStatus: http.StatusCreated,
		Errors: []int{400, 409, 413, 429}, MaxBodyBytes: 16 << 10},
		func(ctx context.Context, in *registerInput) (*sessionOutput, error) {
			b := in.Body
			g, err := h.identity.Register(ctx, core.RegisterInput{EmailHash: b.EmailHash, Salt: b.Salt,
				KDF:     account.KDF{Algorithm: b.KDF.Algorithm, Iterations: b.KDF.Iterations, Hash: b.KDF.Hash},
				AuthKey: b.AuthKey, WrappedKey: core.SealedInput{Ciphertext: b.WrappedVaultKey.Ciphertext, IV: b.WrappedVaultKey.IV},
				ClientAddr: clientAddr(ctx), UserAgent: in.UserAgent})
			if err != nil {
				return nil, errorFor(ctx, h.log, err)
			}
			return toSessionOutput(g), nil
		})

	huma.Register(api, huma.Operation{OperationID: opLogin, Method: http.MethodPost, Path: "/api/auth/zk/login/", Tags: []string{tag},
		Summary:     "Sign in with the browser-derived authentication key",
		Description: "Unknown accounts and wrong keys both answer 401 invalid_credentials. Failed logins are rate limited per account, attempts per address.",
		Errors:      []int{400, 401, 429}, MaxBodyBytes: 4 << 10},
		func(ctx context.Context, in *loginInput) (*sessionOutput, error) {
			g, err := h.identity.Login(ctx, in.Body.EmailHash, in.Body.AuthKey, clientAddr(ctx), in.UserAgent)
			if err != nil {
				return nil, errorFor(ctx, h.log, err)
			}
			return toSessionOutput(g), nil
		})

	huma.Register(api, huma.Operation{OperationID: opLogout, Method: http.MethodPost, Path: "/api/auth/zk/logout/", Tags: []string{tag},
		Summary: "End the current session", DefaultStatus: http.StatusNoContent, Security: auth, Errors: []int{401}},
		signedIn(h, func(ctx context.Context, p core.Principal, _ *struct{}) (*struct{}, error) {
			return nil, h.identity.Logout(ctx, p)
		}))

	huma.Register(api, huma.Operation{OperationID: opListSessions, Method: http.MethodGet, Path: "/api/auth/zk/sessions/", Tags: []string{tag},
		Summary: "List the caller's sessions", Security: auth, Errors: []int{401}},
		signedIn(h, func(ctx context.Context, p core.Principal, _ *struct{}) (*sessionsOutput, error) {
			list, err := h.identity.Sessions(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &sessionsOutput{}
			out.Body.Sessions = make([]sessionInfo, len(list))
			for i, s := range list {
				out.Body.Sessions[i] = sessionInfo{ID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
					IdleExpiresAt: s.IdleExpiresAt, Current: s.Current, Device: s.Device}
			}
			return out, nil
		}))

	huma.Register(api, huma.Operation{OperationID: opRevokeSession, Method: http.MethodDelete, Path: "/api/auth/zk/sessions/{session_id}/", Tags: []string{tag},
		Summary: "Revoke one of the caller's sessions", DefaultStatus: http.StatusNoContent, Security: auth, Errors: []int{401, 404}},
		signedIn(h, func(ctx context.Context, p core.Principal, in *sessionIDInput) (*struct{}, error) {
			return nil, h.identity.RevokeSession(ctx, p, in.SessionID)
		}))

	huma.Register(api, huma.Operation{OperationID: opRevokeOtherSessions, Method: http.MethodPost, Path: "/api/auth/zk/sessions/revoke-others/", Tags: []string{tag},
		Summary: "Revoke every session of the caller except the current one", Security: auth, Errors: []int{401}},
		signedIn(h, func(ctx context.Context, p core.Principal, _ *struct{}) (*revokedOutput, error) {
			n, err := h.identity.RevokeOtherSessions(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &revokedOutput{}
			out.Body.Revoked = n
			return out, nil
		}))

	huma.Register(api, huma.Operation{OperationID: opMe, Method: http.MethodGet, Path: "/api/auth/zk/me/", Tags: []string{tag},
		Summary: "Describe the caller's account", Security: auth, Errors: []int{401}},
		signedIn(h, func(ctx context.Context, p core.Principal, _ *struct{}) (*meOutput, error) {
			me, err := h.identity.Me(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &meOutput{}
			out.Body.UserID, out.Body.CreatedAt = me.UserID, me.CreatedAt
			return out, nil
		}))
}
