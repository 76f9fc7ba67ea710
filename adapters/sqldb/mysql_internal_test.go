package sqldb

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestMySQLConfig: the mysql:// URL maps onto the driver's configuration, with any password, the
// driver's own parameters passed through, and the settings the stores depend on forced.
func TestMySQLConfig(t *testing.T) {
	t.Parallel()
	cfg, err := mysqlConfig("mysql://svc:p%40ss%2Fw:rd(1)@db.example:3307/sva?tls=skip-verify&timeout=2s&readTimeout=30s&writeTimeout=7s" +
		"&innodb_lock_wait_timeout=5&parseTime=false&loc=Local&clientFoundRows=false&multiStatements=true&time_zone=%27SYSTEM%27")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "svc" || cfg.Passwd != "p@ss/w:rd(1)" || cfg.Net != "tcp" || cfg.Addr != "db.example:3307" || cfg.DBName != "sva" {
		t.Errorf("user %q password %q net %q addr %q db %q", cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName)
	}
	if cfg.TLSConfig != "skip-verify" || cfg.Timeout != 2*time.Second || cfg.ReadTimeout != 30*time.Second ||
		cfg.WriteTimeout != 7*time.Second || cfg.Params["innodb_lock_wait_timeout"] != "5" {
		t.Errorf("driver parameters not passed through: tls %q timeouts %v %v %v params %v", cfg.TLSConfig, cfg.Timeout,
			cfg.ReadTimeout, cfg.WriteTimeout, cfg.Params)
	}
	if !cfg.ParseTime || cfg.Loc != time.UTC || !cfg.ClientFoundRows || cfg.MultiStatements ||
		cfg.Params["time_zone"] != "'+00:00'" || !strings.Contains(cfg.Params["sql_mode"], "STRICT_ALL_TABLES") {
		t.Errorf("forced settings overridden: parseTime %v loc %v clientFoundRows %v multiStatements %v params %v",
			cfg.ParseTime, cfg.Loc, cfg.ClientFoundRows, cfg.MultiStatements, cfg.Params)
	}

	cfg, err = mysqlConfig("mariadb://root@/sva")
	if err != nil {
		t.Fatal(err)
	}
	// The read and write bounds are pgdriver's defaults (TestFault_DatabaseFailsOver).
	if cfg.Addr != "127.0.0.1:3306" || cfg.Passwd != "" || cfg.Timeout != mysqlDialTimeout || cfg.ReadTimeout != 10*time.Second ||
		cfg.WriteTimeout != 5*time.Second || cfg.Params["innodb_lock_wait_timeout"] != mysqlLockWaitSeconds {
		t.Errorf("defaults: addr %q password %q timeouts %v %v %v params %v", cfg.Addr, cfg.Passwd, cfg.Timeout,
			cfg.ReadTimeout, cfg.WriteTimeout, cfg.Params)
	}

	for _, bad := range []string{"mysql://u:secret@host:3306", "mysql://u:secret@host/", "mysql://u:secret@host/a/b",
		"mysql://u:secret@host/db?timeout=soon", "mysql://u:secret@[::1/db"} {
		_, err := mysqlConfig(bad)
		if err == nil {
			t.Errorf("mysqlConfig(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("mysqlConfig(%q) error echoes the password: %v", bad, err)
		}
	}
}

// TestOpen_MySQLUnreachable: a server that is not there fails Open within the dial timeout, with
// an error that names the database and not the password.
func TestOpen_MySQLUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, Config{DSN: "mysql://u:secret@127.0.0.1:1/db", Name: "x"})
	if err == nil {
		t.Fatal("Open of unreachable MySQL succeeded, want error")
	}
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("error %q: want the database name and no password", err)
	}
}
