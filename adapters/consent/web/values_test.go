package web_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/claimvalue"
)

// readJSONBlock extracts the JSON object assigned between "// BEGIN name" and "// END name".
func readJSONBlock(t *testing.T, file, name string, into any) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "// BEGIN "+name)
	block, _, ok2 := strings.Cut(rest, "// END "+name)
	if !ok || !ok2 {
		t.Fatalf("%s lacks the %s markers", file, name)
	}
	start, end := strings.Index(block, "= {")+2, strings.LastIndex(block, "}")
	if err := json.Unmarshal([]byte(block[start:end+1]), into); err != nil {
		t.Fatalf("%s in %s is not strict JSON: %v", name, file, err)
	}
}

// The browser's value rules are domain/claimvalue's: same kinds per claim key, same limits.
func TestValues_MatchDomainRules(t *testing.T) {
	t.Parallel()
	var rules struct {
		Kinds  map[string]string `json:"kinds"`
		Limits map[string]int    `json:"limits"`
	}
	readJSONBlock(t, "assets/js/values.js", "VALUE RULES", &rules)
	goKinds := claimvalue.Kinds()
	if len(rules.Kinds) != len(goKinds) {
		t.Errorf("values.js has %d kinds, domain/claimvalue %d", len(rules.Kinds), len(goKinds))
	}
	for k, v := range goKinds {
		if rules.Kinds[k] != string(v) {
			t.Errorf("kind of %s: values.js %q, domain %q", k, rules.Kinds[k], v)
		}
	}
	want := map[string]int{
		"email": claimvalue.MaxEmailChars, "email_local": claimvalue.MaxEmailLocalChars, "text": claimvalue.MaxTextChars,
		"longtext": claimvalue.MaxLongTextChars, "url": claimvalue.MaxURLChars, "phone_min_digits": claimvalue.MinPhoneDigits,
		"phone_max_digits": claimvalue.MaxPhoneDigits, "phone_chars": claimvalue.MaxPhoneChars, "list_items": claimvalue.MaxListItems,
		"item_chars": claimvalue.MaxItemChars, "links": claimvalue.MaxLinks, "link_label": claimvalue.MaxLinkLabel,
	}
	if len(rules.Limits) != len(want) {
		t.Errorf("values.js has %d limits, want %d", len(rules.Limits), len(want))
	}
	for k, v := range want {
		if rules.Limits[k] != v {
			t.Errorf("limit %s: values.js %d, domain %d", k, rules.Limits[k], v)
		}
	}
}

// Both implementations give the same verdict (code and limit) on every shared case.
func TestValues_SharedCasesInTheBrowserRules(t *testing.T) {
	t.Parallel()
	node := nodeOrSkip(t)
	const table = "../../../domain/claimvalue/testdata/cases.json"
	raw, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Claim string `json:"claim"`
		Value any    `json:"value"`
		Code  string `json:"code"`
		Limit int    `json:"limit"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, "testdata/values_check.mjs", table).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got []struct {
		Code  string `json:"code"`
		Limit int    `json:"limit"`
		Text  string `json:"text"`
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("node output (%d of %d cases): %v\n%.500s", len(got), len(cases), err, out)
	}
	for i, c := range cases {
		if got[i].Code != c.Code || got[i].Limit != c.Limit {
			t.Errorf("case %d %s=%.40v: browser %s/%d, domain %s/%d", i, c.Claim, c.Value, got[i].Code, got[i].Limit, c.Code, c.Limit)
		}
		if c.Limit > 0 && !strings.Contains(got[i].Text, strconv.Itoa(c.Limit)) {
			t.Errorf("case %d: browser message %q does not name the limit %d", i, got[i].Text, c.Limit)
		}
	}
}
