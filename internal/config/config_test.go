package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wishgate.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNoFileRunsDefaults(t *testing.T) {
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("got %+v, want the defaults", c)
	}
	empty := writeFile(t, "# nothing but a comment\n")
	if c, err = Parse([]string{"--config", empty}, env(nil)); err != nil || !reflect.DeepEqual(c, withStateNextTo(empty)) {
		t.Fatalf("empty file: %v %+v", err, c)
	}
}

// withStateNextTo is Default as Load resolves it for the config file path.
func withStateNextTo(path string) Config {
	c := Default()
	c.SourcesStateFile = filepath.Join(filepath.Dir(path), DefaultSourcesStateFile)
	return c
}

// The camera changes made over the API are kept next to the config file
// unless sources_state_file says otherwise; without a config file, only
// where it says.
func TestSourcesStatePath(t *testing.T) {
	cases := []struct {
		name string
		file string // config file body; "-" for no config file
		args []string
		want string
	}{
		{"no config file", "-", nil, ""},
		{"no config file, flag", "-", []string{"--sources-state-file", "/var/lib/wishgate/sources.json"}, "/var/lib/wishgate/sources.json"},
		{"next to the config file", "", nil, "NEXT"},
		{"set in the file", "sources_state_file: /data/cams.json\n", nil, "/data/cams.json"},
		{"off", "sources_state_file: \"off\"\n", nil, ""},
		{"off by flag", "", []string{"--sources-state-file", "off"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args, want := tc.args, tc.want
			if tc.file != "-" {
				p := writeFile(t, "# cameras\n"+tc.file)
				args = append([]string{"--config", p}, args...)
				if want == "NEXT" {
					want = filepath.Join(filepath.Dir(p), DefaultSourcesStateFile)
				}
			}
			c, err := Parse(args, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.SourcesStatePath(); got != want {
				t.Errorf("SourcesStatePath() = %q, want %q", got, want)
			}
		})
	}
}

func TestStrictDecode(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"unknown key", "http_addr: \":1\"\ngrace_perod: 3s\n", []string{`:2:1:`, `unknown key "grace_perod"`}},
		{"old flag spelling", "http-addr: \":1\"\n", []string{`:1:1:`, `"http-addr"`}},
		{"bad duration", "http_addr: \":1\"\ngrace_period: soon\n", []string{"grace_period", ":2:"}},
		{"wrong type", "publish_tokens: {a: b}\n", []string{"publish_tokens", ":1:"}},
		{"duplicate key", "replace: always\nreplace: never\n", []string{`:2:1:`, "replace"}},
		{"syntax", "http_addr: [\n", []string{"config "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.body)
			_, err := Parse([]string{"--config=" + p}, env(nil))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
	if _, err := Parse([]string{"--config", "/nonexistent/wishgate.yaml"}, env(nil)); err == nil || !strings.Contains(err.Error(), "/nonexistent/wishgate.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestValidationNamesTheParameter(t *testing.T) {
	cases := []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.HTTPAddr = "8080" }, "http_addr"},
		{func(c *Config) { c.UDPAddr = "x" }, "udp_addr"},
		{func(c *Config) { c.TCPAddr = "nope" }, "tcp_addr"},
		{func(c *Config) { c.PublicIPs = []string{"not a host!"} }, "nat_1to1 (--public-ip)"},
		{func(c *Config) { c.PublicIPs = []string{"a.example"}; c.NAT1To1Refresh = 0 }, "nat_1to1_refresh"},
		{func(c *Config) { c.Interfaces = []string{"eth 0"} }, "interfaces (--interface)"},
		{func(c *Config) { c.HostNetworks = []string{"10.0.0.0"} }, "host_networks (--host-network)"},
		{func(c *Config) { c.STUNServers = []string{"stun://x:1"} }, "stun_servers (--stun-server)"},
		{func(c *Config) { c.ICEServers = []string{"turn:host:3478"} }, "ice_servers (--ice-server)"},
		{func(c *Config) { c.TURNServers = []string{"turn:h:3478"} }, "turn_secret"},
		{func(c *Config) { c.TURNSecret = "s" }, "turn_servers (--turn-server)"},
		{func(c *Config) { c.TURNServers = []string{"turn:u:p@h"}; c.TURNSecret = "s" }, "turn_servers (--turn-server)"},
		{func(c *Config) { c.TURNServers = []string{"turn:h"}; c.TURNSecret = "s"; c.TURNTTL = time.Second }, "turn_ttl"},
		{func(c *Config) { c.PublishTokens = []string{"[=x"} }, "publish_tokens (--publish-token)"},
		{func(c *Config) { c.ReadTokens = []string{""} }, "read_tokens (--read-token)"},
		{func(c *Config) { c.JWTSecret = "short" }, "jwt_secret"},
		{func(c *Config) { c.JWTJWKSURL = "ftp://x/jwks" }, "jwt_jwks_url"},
		{func(c *Config) { c.JWTSecret = strings.Repeat("k", 32); c.JWTClaim = "" }, "jwt_claim"},
		{func(c *Config) { c.AuthCallbackURL = "localhost:9000" }, "auth_callback_url"},
		{func(c *Config) { c.AuthCallbackURL = "http://a/"; c.AuthCallbackTimeout = 0 }, "auth_callback_timeout"},
		{func(c *Config) { c.Replace = "sometimes" }, "replace"},
		{func(c *Config) { c.GracePeriod = -time.Second }, "grace_period"},
		{func(c *Config) { c.MaxBodyBytes = 10 }, "max_body_bytes"},
		{func(c *Config) { c.LogLevel = "loud" }, "log_level"},
		{func(c *Config) { c.ICERemoteNetworks = []string{"10.0.0.0/8"} }, "ice_remote_networks (--ice-remote-network)"},
		{func(c *Config) { c.ICERemoteNetworks = []string{"deny 10.0.0.0"} }, "ice_remote_networks (--ice-remote-network)"},
		{func(c *Config) { c.MaxRemoteCandidates = 0 }, "max_remote_candidates"},
		{func(c *Config) { c.HTTPIdleTimeout = 0 }, "http_idle_timeout"},
		{func(c *Config) { c.HTTPWriteTimeout = 5 * time.Second }, "http_write_timeout"},
		{func(c *Config) { c.RTSPIdleTimeout = 2 * time.Hour }, "rtsp_idle_timeout"},
		{func(c *Config) { c.MaxConnections = 0 }, "max_connections"},
		{func(c *Config) { c.MaxConnectionsPerIP = 5000 }, "max_connections_per_ip"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
				t.Fatalf("got %v, want a message starting with %q", err, tc.want+":")
			}
		})
	}
	// Secrets stay out of messages.
	c := Default()
	c.ICEServers = []string{"turn:alice:hunter2@host:3478,bad"}
	c.JWTSecret = "hunter2"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("secret in %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	p := writeFile(t, `
http_addr: "127.0.0.1:1000"
udp_addr: "127.0.0.1:2000"
tcp_addr: "127.0.0.1:3000"
grace_period: 1s
read_tokens: [file-a, file-b]
publish_tokens: [file-p]
strict_etag: true
`)
	e := env(map[string]string{
		"WISHGATE_CONFIG":       p,
		"WISHGATE_UDP_ADDR":     "127.0.0.1:2001",
		"WISHGATE_TCP_ADDR":     "127.0.0.1:3001",
		"WISHGATE_READ_TOKEN":   "env-a,env-b",
		"WISHGATE_GRACE_PERIOD": "2s",
	})
	c, err := Parse([]string{"--tcp-addr", "127.0.0.1:3002", "--read-token", "flag-a", "--read-token=flag-b", "-grace-period=3s"}, e)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"file":           c.HTTPAddr == "127.0.0.1:1000",
		"env over file":  c.UDPAddr == "127.0.0.1:2001",
		"flag over env":  c.TCPAddr == "127.0.0.1:3002" && c.GracePeriod == 3*time.Second,
		"lists replaced": reflect.DeepEqual(c.ReadTokens, []string{"flag-a", "flag-b"}),
		"list from file": reflect.DeepEqual(c.PublishTokens, []string{"file-p"}),
		"bool from file": c.StrictETag,
		"default":        c.MaxBodyBytes == 128<<10,
	}
	for name, ok := range want {
		if ok != true {
			t.Errorf("%s: got %+v", name, c)
		}
	}
	// Env lists replace the file's.
	c, err = Parse(nil, e)
	if err != nil || !reflect.DeepEqual(c.ReadTokens, []string{"env-a", "env-b"}) {
		t.Fatalf("env list: %v %v", err, c.ReadTokens)
	}
	// --config beats WISHGATE_CONFIG.
	other := writeFile(t, "http_addr: \"127.0.0.1:1111\"\n")
	if c, err = Parse([]string{"-config", other}, e); err != nil || c.HTTPAddr != "127.0.0.1:1111" {
		t.Fatalf("--config over env: %v %q", err, c.HTTPAddr)
	}
	// Env and flag errors name the variable or the flag.
	if _, err := Parse(nil, env(map[string]string{"WISHGATE_GRACE_PERIOD": "soon"})); err == nil || !strings.Contains(err.Error(), "WISHGATE_GRACE_PERIOD") {
		t.Fatalf("env error: %v", err)
	}
	if _, err := (Source{Args: []string{"--grace-period", "soon"}, Output: io.Discard}).Load(); err == nil || !strings.Contains(err.Error(), "grace-period") {
		t.Fatalf("flag error: %v", err)
	}
	var help strings.Builder
	secret := writeFile(t, "publish_tokens: [file-secret-token]\nturn_secret: file-turn-secret\n")
	if _, err := (Source{Args: []string{"--config", secret, "--help"}, Output: &help}).Load(); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if !strings.Contains(help.String(), "-publish-token") || strings.Contains(help.String(), "file-secret-token") || strings.Contains(help.String(), "file-turn-secret") {
		t.Fatalf("--help lists every flag and no secret:\n%s", help.String())
	}
	if _, err := (Source{Args: []string{"stray"}}).Load(); err == nil {
		t.Fatal("a stray argument was accepted")
	}
}

// yamlKeys lists every file key of Config, file-only ones included.
func yamlKeys() []string {
	var keys []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestExampleConfig keeps config.example.yaml honest: it loads strictly, it
// holds exactly the defaults, and it documents every key with a comment.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "config.example.yaml")
	c, err := Parse([]string{"--config", path}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := withStateNextTo(path); !reflect.DeepEqual(normalize(c), normalize(want)) {
		t.Fatalf("the example's values differ from the defaults:\n got %+v\nwant %+v", c, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, k := range yamlKeys() {
		if _, ok := doc[k]; !ok {
			t.Errorf("key %q is not in config.example.yaml", k)
			continue
		}
		for i, l := range lines {
			if strings.HasPrefix(l, k+":") && (i == 0 || !strings.HasPrefix(lines[i-1], "#")) {
				t.Errorf("key %q has no comment above it", k)
			}
		}
	}
}

// normalize makes empty and nil lists compare equal.
func normalize(c Config) Config {
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Slice && f.Len() == 0 {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return c
}
