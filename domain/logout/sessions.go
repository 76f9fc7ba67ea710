package logout

import "slices"

// GrantSession is one client at which a user holds an active grant, and the sid of the browser
// session that approved it ("" when the session is unknown: grants from before sids, or
// approvals Core reported no session for).
type GrantSession struct {
	ClientID  string
	SessionID string
}

// Notice is one logout token to deliver: to ClientID, naming Subject and, when SessionID is not
// "", that session only.
type Notice struct {
	ClientID  string
	Subject   string
	SessionID string
}

// OfSession keeps the grants that the end of browser session sid concerns (decision 54): those
// that session approved, and those whose session is unknown (they may be this session's, and
// before sids every grant of the user was told). Grants of the user's other sessions stay: the
// person is still signed in there. An empty sid (the session is not known) keeps every grant.
func OfSession(grants []GrantSession, sid string) []GrantSession {
	if sid == "" {
		return grants
	}
	var out []GrantSession
	for _, g := range grants {
		if g.SessionID == sid || g.SessionID == "" {
			out = append(out, g)
		}
	}
	return out
}

// Notices decides the logout tokens that tell the clients of grants that subject's sessions
// there ended (Back-Channel Logout §2.4). A client that registered
// backchannel_logout_session_required (wantsSID) gets one token per session, with sub and sid,
// so it ends exactly those sessions; a grant of unknown session gets it a token with sub only.
// Any other client gets one token with sub only: it was never given sids (they go into ID tokens
// only for clients that ask), so a sid would tell it nothing and only hand out a session handle.
// The notices are ordered by client, then sid, without duplicates.
func Notices(subject string, grants []GrantSession, wantsSID func(clientID string) bool) []Notice {
	var out []Notice
	for _, g := range grants {
		n := Notice{ClientID: g.ClientID, Subject: subject}
		if wantsSID(g.ClientID) {
			n.SessionID = g.SessionID
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Notice) int {
		if a.ClientID != b.ClientID {
			if a.ClientID < b.ClientID {
				return -1
			}
			return 1
		}
		switch {
		case a.SessionID < b.SessionID:
			return -1
		case a.SessionID > b.SessionID:
			return 1
		}
		return 0
	})
	return slices.Compact(out)
}
