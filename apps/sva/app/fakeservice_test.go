package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// The tests re-execute this test binary (the launcher's os.Executable() in the tests) with
// testSwitch set: as `<bin> oauth|core|consent|demo …` it plays a fake service, otherwise it
// plays the whole launcher (Run with real signal handling).
const testSwitch = "SVA_LAUNCHER_TEST"

func TestMain(m *testing.M) {
	if os.Getenv(testSwitch) == "1" {
		if len(os.Args) > 1 && slices.Contains(serviceNames[:], os.Args[1]) {
			os.Exit(fakeService(os.Args[1], os.Args[2:]))
		}
		os.Exit(launcherProcess())
	}
	os.Exit(m.Run())
}

// launcherProcess is what cmd/sva's main does for the launcher.
func launcherProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sva:", err)
		return 1
	}
	return 0
}

// fakeService behaves like one SVA service: /healthz on its addresses, clean exit on SIGINT.
// FAKE_MODE_<NAME> selects misbehaviour: "die" (exit 3 after FAKE_DIE_AFTER), "stubborn"
// (ignore SIGINT/SIGTERM). It records its environment, pid and how it stopped in the data dir.
func fakeService(name string, args []string) int {
	dir := os.Getenv("SVA_DATA_DIR")
	if name == svcOAuth && len(args) > 0 && args[0] == "clients" {
		return fakeClientsCLI(dir, args[1:])
	}
	mode := os.Getenv("FAKE_MODE_" + strings.ToUpper(name))
	env := os.Environ()
	slices.Sort(env)
	writeJSONFile(filepath.Join(dir, name+".env.json"), env)
	_ = os.WriteFile(filepath.Join(dir, name+".pid"), []byte(strconv.Itoa(os.Getpid())), 0o600)

	sigs := make(chan os.Signal, 1)
	if mode == "stubborn" {
		signal.Ignore(os.Interrupt, syscall.SIGTERM)
	} else {
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	}
	// Each listener and the prefix of its TLS variables (served like the real services: HTTPS
	// when the launcher passes certificates, mutual TLS on the internal listener).
	listeners := map[string][][2]string{
		svcOAuth:   {{os.Getenv("OAUTH_PUBLIC_ADDR"), "OAUTH_PUBLIC"}, {os.Getenv("OAUTH_INTERNAL_ADDR"), "OAUTH_INTERNAL"}},
		svcCore:    {{os.Getenv("CORE_ADDR"), "CORE"}},
		svcConsent: {{os.Getenv("CONSENT_ADDR"), "CONSENT"}},
		svcDemo:    {{os.Getenv("DEMO_ADDR"), "DEMO"}},
	}[name]
	var addrs []string
	for _, l := range listeners {
		a, prefix := l[0], l[1]
		addrs = append(addrs, a)
		cfg, err := tlsconfig.ServerConfig(tlsconfig.Server{CertFile: os.Getenv(prefix + "_TLS_CERT_FILE"), KeyFile: os.Getenv(prefix + "_TLS_KEY_FILE"),
			ClientCAFile: os.Getenv(prefix + "_TLS_CLIENT_CA_FILE"), ClientSubject: os.Getenv(prefix + "_TLS_CLIENT_SUBJECT")})
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake", name, "TLS:", err)
			return 2
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake", name, "listen:", err)
			return 2
		}
		ln = tlsconfig.Listen(ln, cfg)
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		go func() { _ = http.Serve(ln, mux) }()
	}
	fmt.Printf("fake %s listening on %v\npartial line without newline", name, addrs)
	fmt.Fprintln(os.Stderr, "\nfake", name, "log on stderr")

	var die <-chan time.Time
	if mode == "die" {
		d, _ := time.ParseDuration(os.Getenv("FAKE_DIE_AFTER"))
		die = time.After(d)
	}
	select {
	case s := <-sigs:
		_ = os.WriteFile(filepath.Join(dir, name+".stopped"), []byte(s.String()), 0o600)
		return 0
	case <-die:
		fmt.Fprintln(os.Stderr, "fake", name, "crashing on purpose")
		return 3
	}
}

// fakeClientsCLI imitates `sva oauth clients list|create`, keeping clients in a JSON file.
func fakeClientsCLI(dir string, args []string) int {
	path := filepath.Join(dir, "fake-clients.json")
	var clients []map[string]any
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &clients)
	}
	if clients == nil {
		clients = []map[string]any{}
	}
	switch args[0] {
	case "list":
		out, _ := json.Marshal(clients)
		fmt.Println(string(out))
	case "create":
		c := map[string]any{"client_id": fmt.Sprintf("app_fake_%d", len(clients)+1), "create_args": args[1:]}
		for i := 1; i < len(args); i++ {
			switch args[i] {
			case "--name":
				c["name"] = args[i+1]
			case "--redirect-uri":
				c["redirect_uris"] = []string{args[i+1]}
			case "--public":
				c["type"] = "public"
			}
		}
		setLogoutURIs(c, args[1:])
		clients = append(clients, c)
		writeJSONFile(path, clients)
		out, _ := json.Marshal(c)
		fmt.Println(string(out))
	case "update":
		for _, c := range clients {
			if c["client_id"] == args[1] {
				c["update_args"] = args[2:]
				setLogoutURIs(c, args[2:])
				writeJSONFile(path, clients)
				out, _ := json.Marshal(c)
				fmt.Println(string(out))
				return 0
			}
		}
		fmt.Fprintln(os.Stderr, "unknown client", args[1])
		return 1
	default:
		fmt.Fprintln(os.Stderr, "unknown clients command", args[0])
		return 2
	}
	return 0
}

// setLogoutURIs applies --post-logout-redirect-uri (repeatable, replacing the list) and
// --backchannel-logout-uri, as the provider's CLI does.
func setLogoutURIs(c map[string]any, args []string) {
	var postLogout []string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--post-logout-redirect-uri":
			postLogout = append(postLogout, args[i+1])
		case "--backchannel-logout-uri":
			c["backchannel_logout_uri"] = args[i+1]
		}
	}
	if postLogout != nil {
		c["post_logout_redirect_uris"] = postLogout
	}
}

func writeJSONFile(path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		panic(err)
	}
}

// freeAddrs returns n distinct loopback addresses that were free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return addrs
}
