package sqldb

import "testing"

func TestStatementOperation(t *testing.T) {
	for query, want := range map[string]string{
		"SELECT 1":          "SELECT",
		"  select * from x": "SELECT",
		"-- 0001: clients\nCREATE TABLE oauth_x (": "CREATE TABLE",
		"/* c */ -- d\n\n  create unique index i":  "CREATE INDEX",
		"ALTER TABLE t ADD COLUMN c":               "ALTER TABLE",
		"DROP INDEX IF EXISTS i":                   "DROP INDEX",
		"BEGIN":                                    "BEGIN",
		"INSERT INTO runs (n) VALUES (1)":          "INSERT",
		"-- only a comment":                        "SQL",
		"/* unterminated":                          "SQL",
		"":                                         "SQL",
		"CREATE":                                   "CREATE",
		"(SELECT 1)":                               "SQL",
	} {
		if got := statementOperation(query); got != want {
			t.Errorf("statementOperation(%q) = %q, want %q", query, got, want)
		}
	}
}
