package claimvalue_test

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/claimvalue"
)

// valueCase is one row of testdata/cases.json, which the consent UI's rules (values.js) run too.
type valueCase struct {
	Claim string `json:"claim"`
	Value any    `json:"value"`
	Code  string `json:"code"`
	Limit int    `json:"limit"`
}

func loadCases(t *testing.T) []valueCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []valueCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestCheck_SharedCases(t *testing.T) {
	for i, c := range loadCases(t) {
		err := claimvalue.Check(c.Claim, c.Value)
		if c.Code == "" {
			if err != nil {
				t.Errorf("case %d %s=%.40v: unexpected %v", i, c.Claim, c.Value, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("case %d %s=%.40v: accepted, want %s", i, c.Claim, c.Value, c.Code)
			continue
		}
		if err.Code != c.Code || err.Limit != c.Limit || err.Claim != c.Claim {
			t.Errorf("case %d %s: got %s/%d, want %s/%d (%s)", i, c.Claim, err.Code, err.Limit, c.Code, c.Limit, err.Message)
		}
		// The message names the claim, and the limit when there is one.
		if !strings.HasPrefix(err.Message, c.Claim+": ") || (c.Limit > 0 && !strings.Contains(err.Message, strconv.Itoa(c.Limit))) {
			t.Errorf("case %d: message %q does not name the claim and the limit %d", i, err.Message, c.Limit)
		}
	}
}

// A 312-character email (the example) is refused with the RFC 5321 limit.
func TestCheck_LongEmailNamesLimit(t *testing.T) {
	email := strings.Repeat("a", 300) + "@example.com"
	err := claimvalue.Check("email", email)
	if err == nil || err.Code != claimvalue.CodeTooLong || err.Message != "email: must be at most 254 characters (has 312)" {
		t.Fatalf("got %+v", err)
	}
}

func TestCheckAll_ReportsEveryProblemInKeyOrder(t *testing.T) {
	err := claimvalue.CheckAll(map[string]any{
		"phone_number": "call me maybe", "email": "alice@example.com", "profile_image": "not a url", "name": "Alice",
	})
	var errs claimvalue.Errors
	if !errors.As(err, &errs) || len(errs) != 2 || errs[0].Claim != "phone_number" || errs[1].Claim != "profile_image" {
		t.Fatalf("got %v", err)
	}
	if err := claimvalue.CheckAll(map[string]any{"email": "alice@example.com"}); err != nil {
		t.Errorf("valid claims: %v", err)
	}
	if err := claimvalue.CheckAll(nil); err != nil {
		t.Errorf("no claims: %v", err)
	}
}

func TestKindOf(t *testing.T) {
	for claim, want := range map[string]claimvalue.Kind{
		"email": claimvalue.Email, "phone_number": claimvalue.Phone, "profile_image": claimvalue.URL,
		"city": claimvalue.Text, "skills": claimvalue.List, "social_links": claimvalue.Links, "birthdate": claimvalue.Date,
	} {
		if got := claimvalue.KindOf(claim); got != want {
			t.Errorf("KindOf(%s) = %s, want %s", claim, got, want)
		}
	}
}
