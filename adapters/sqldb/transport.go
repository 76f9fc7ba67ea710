package sqldb

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// TransportWarning says how a server DSN's connection is exposed when it leaves the machine
// without a verified certificate — plain text, or TLS that does not check the server — and ""
// when it verifies the server, stays on loopback, or is SQLite. The drivers decide from the
// DSN: pgdriver encrypts without verifying unless sslmode is verify-ca or verify-full (or
// require with sslrootcert), go-sql-driver/mysql sends plain text unless tls=true verifies
// against the system roots (skip-verify and preferred verify nothing). The services log it at
// start; what the DSN asks for is still what they do (decision 62).
func TransportWarning(dsn string) string {
	var host, how string
	switch Scheme(dsn) {
	case SchemePostgres:
		u, err := url.Parse(dsn)
		if err != nil {
			return ""
		}
		host = u.Hostname()
		mode, rootCert := u.Query().Get("sslmode"), u.Query().Get("sslrootcert")
		switch {
		case mode == "disable":
			how = "in plain text (sslmode=disable)"
		case mode == "verify-ca", mode == "verify-full", mode == "require" && rootCert != "":
			return ""
		case mode == "":
			how = "over TLS without verifying the server's certificate (no sslmode: pgdriver's default)"
		default:
			how = fmt.Sprintf("over TLS without verifying the server's certificate (sslmode=%s)", mode)
		}
		how += "; set sslmode=verify-full and sslrootcert=<CA file>"
	case SchemeMySQL:
		u, err := url.Parse(dsn)
		if err != nil {
			return ""
		}
		host = u.Hostname()
		switch mode := strings.ToLower(u.Query().Get("tls")); mode {
		case "", "false":
			how = "in plain text (no tls=true)"
		case "skip-verify", "preferred":
			how = fmt.Sprintf("over TLS without verifying the server's certificate (tls=%s)", mode)
		default:
			return ""
		}
		how += "; set tls=true (the server's certificate must chain to the system roots)"
	default:
		return ""
	}
	if host == "" || tlsconfig.IsLoopback(host) {
		return "" // an empty host is the drivers' default, the local machine
	}
	return fmt.Sprintf("DATABASE_URL reaches %s %s", host, how)
}
