package sqldb_test

import (
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

// TestTransportWarning: a database connection leaving the machine without a verified
// certificate is named (plain text or unverified TLS, with the setting that fixes it); a
// verified one, one on loopback and SQLite are not.
func TestTransportWarning(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"postgres://u:p@db.internal:5432/sva":                                  "without verifying",
		"postgres://u:p@db.internal/sva?sslmode=require":                       "sslmode=require",
		"postgres://u:p@db.internal/sva?sslmode=prefer":                        "sslmode=prefer",
		"postgres://u:p@10.0.0.4/sva?sslmode=disable":                          "plain text",
		"postgres://u:p@db.internal/sva?sslmode=verify-full":                   "",
		"postgres://u:p@db.internal/sva?sslmode=verify-ca&sslrootcert=/ca.pem": "",
		"postgres://u:p@db.internal/sva?sslmode=require&sslrootcert=/ca.pem":   "",
		"postgres://postgres@127.0.0.1:5432/sva?sslmode=disable":               "",
		"postgresql://u@localhost/sva":                                         "",
		"mysql://u:p@db.internal:3306/sva":                                     "plain text",
		"mysql://u:p@db.internal/sva?tls=skip-verify":                          "tls=skip-verify",
		"mariadb://u:p@db.internal/sva?tls=preferred":                          "tls=preferred",
		"mysql://u:p@db.internal/sva?tls=true":                                 "",
		"mysql://root@127.0.0.1:3306/sva":                                      "",
		"mysql://root@[::1]:3306/sva":                                          "",
		"/var/lib/sva/oauth.db":                                                "",
	} {
		got := sqldb.TransportWarning(dsn)
		if (want == "") != (got == "") || !strings.Contains(got, want) || strings.Contains(got, ":p@") {
			t.Errorf("TransportWarning(%q) = %q, want one containing %q (never the password)", dsn, got, want)
		}
	}
}
