package web_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/scope"
)

type jsScope struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Claims      []string    `json:"claims"`
	Sources     [][2]string `json:"sources"`
}

// readJSCatalogue extracts the JSON object between the BEGIN/END CATALOGUE markers of scopes.js.
func readJSCatalogue(t *testing.T) map[string]jsScope {
	t.Helper()
	src, err := os.ReadFile("assets/js/scopes.js")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "// BEGIN CATALOGUE")
	block, _, ok2 := strings.Cut(rest, "// END CATALOGUE")
	if !ok || !ok2 {
		t.Fatal("scopes.js lacks the CATALOGUE markers")
	}
	start, end := strings.Index(block, "= {")+2, strings.LastIndex(block, "}")
	var cat map[string]jsScope
	if err := json.Unmarshal([]byte(block[start:end+1]), &cat); err != nil {
		t.Fatalf("CATALOGUE is not strict JSON: %v", err)
	}
	return cat
}

// The browser's copy of the scope table must equal domain/scope (decision 6), and the claims it
// fills from the vault must be ones the scope permits, or Core would refuse the attestation.
func TestCatalogue_MatchesDomainScope(t *testing.T) {
	t.Parallel()
	cat := readJSCatalogue(t)
	all := scope.All()
	if len(cat) != len(all) {
		t.Errorf("scopes.js has %d scopes, domain/scope has %d", len(cat), len(all))
	}
	for _, e := range all {
		js, ok := cat[string(e.Name)]
		if !ok {
			t.Errorf("scopes.js lacks scope %q", e.Name)
			continue
		}
		if js.Name != e.DisplayName || js.Description != e.Description || !slices.Equal(js.Claims, e.Claims) {
			t.Errorf("scope %q differs:\n js %+v\n go %+v", e.Name, js, e)
		}
		for _, src := range js.Sources {
			if !slices.Contains(e.Claims, src[0]) {
				t.Errorf("scope %q shares claim %q, which it does not permit", e.Name, src[0])
			}
		}
		if e.Name != scope.OpenID && len(js.Sources) == 0 {
			t.Errorf("scope %q shares nothing from the vault", e.Name)
		}
	}
}

// Every vault field a scope reads must exist in the editor, or the value could never be entered.
func TestCatalogue_SourcesAreVaultFields(t *testing.T) {
	t.Parallel()
	profile, err := os.ReadFile("assets/js/profile.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, js := range readJSCatalogue(t) {
		for _, src := range js.Sources {
			if !strings.Contains(string(profile), "key: '"+src[1]+"'") {
				t.Errorf("scope %q reads vault field %q, which profile.js does not define", name, src[1])
			}
		}
	}
}

// Every scope has an inline SVG icon in icons.js (the catalogue's emoji are never shown: without
// an emoji font they render as empty boxes).
func TestCatalogue_EveryScopeHasAnIcon(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("assets/js/icons.js")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(src), "export const SCOPE_ICONS = {")
	table, _, _ := strings.Cut(rest, "};")
	for _, e := range scope.All() {
		name, ok := "", false
		for _, part := range strings.Split(table, ",") {
			k, v, found := strings.Cut(strings.TrimSpace(part), ":")
			if found && strings.TrimSpace(k) == string(e.Name) {
				name, ok = strings.Trim(strings.TrimSpace(v), "'"), true
			}
		}
		if !ok {
			t.Errorf("scope %q has no icon in SCOPE_ICONS", e.Name)
			continue
		}
		if !strings.Contains(string(src), "  "+name+": [[") {
			t.Errorf("scope %q uses icon %q, which SHAPES does not draw", e.Name, name)
		}
	}
	for _, r := range string(src) {
		if r >= 0x1F000 || (r >= 0x2600 && r <= 0x27BF) {
			t.Errorf("icons.js contains the emoji %q", r)
			break
		}
	}
}
