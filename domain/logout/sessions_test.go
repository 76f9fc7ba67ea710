package logout

import (
	"slices"
	"testing"
)

func TestOfSession_KeepsThatSessionAndUnknownOnes(t *testing.T) {
	grants := []GrantSession{{"a", "s1"}, {"b", "s2"}, {"c", ""}, {"d", "s1"}}
	if got, want := OfSession(grants, "s1"), []GrantSession{{"a", "s1"}, {"c", ""}, {"d", "s1"}}; !slices.Equal(got, want) {
		t.Errorf("OfSession(s1) = %v, want %v", got, want)
	}
	if got := OfSession(grants, ""); !slices.Equal(got, grants) {
		t.Errorf("OfSession(\"\") = %v, want every grant", got)
	}
	if got := OfSession(grants, "s9"); !slices.Equal(got, []GrantSession{{"c", ""}}) {
		t.Errorf("OfSession(s9) = %v", got)
	}
}

func TestNotices_SidOnlyForClientsThatAsked(t *testing.T) {
	grants := []GrantSession{{"wants", "s2"}, {"plain", "s1"}, {"wants", "s1"}, {"plain", "s2"}, {"wants", ""}, {"wants", "s1"}}
	got := Notices("u1", grants, func(id string) bool { return id == "wants" })
	want := []Notice{
		{ClientID: "plain", Subject: "u1"},
		{ClientID: "wants", Subject: "u1"},
		{ClientID: "wants", Subject: "u1", SessionID: "s1"},
		{ClientID: "wants", Subject: "u1", SessionID: "s2"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Notices = %v\nwant %v", got, want)
	}
	if got := Notices("u1", nil, func(string) bool { return true }); len(got) != 0 {
		t.Fatalf("no grants: %v", got)
	}
}
