// Package config holds the gateway's settings: defaults, then environment,
// then flags, then Validate, with the parameter's name in every message.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/streams"
)

// Config is every setting of the gateway.
type Config struct {
	HTTPAddr      string
	UDPAddr       string
	PublicIPs     []string
	PublishTokens []string // "TOKEN" or "GLOB=TOKEN"
	ReadTokens    []string
	ICEServers    []string // stun:host:port, turn:user:pass@host:port?transport=udp
	Replace       string   // stale | always | never
	GracePeriod   time.Duration
	StrictETag    bool
	MaxBodyBytes  int64
	AllowOrigins  []string
	LogLevel      string
}

// Default returns the embedded defaults: `go run ./cmd/gateway` runs on these.
func Default() Config {
	return Config{
		HTTPAddr:     ":8080",
		UDPAddr:      ":8189",
		Replace:      string(streams.ReplaceStale),
		GracePeriod:  10 * time.Second,
		MaxBodyBytes: 128 << 10,
		LogLevel:     "info",
	}
}

// list is a repeatable, comma-separable flag.
type list struct{ v *[]string }

func (l list) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l list) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l.v = append(*l.v, part)
		}
	}
	return nil
}

// Parse applies environment variables (WISHGATE_*) and then args over the
// defaults. getenv is os.Getenv in production.
func Parse(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HTTP listen address (WHIP, WHEP, pages) [WISHGATE_HTTP_ADDR]")
	fs.StringVar(&c.UDPAddr, "udp-addr", c.UDPAddr, "UDP address for all WebRTC media; one IP here is the only host candidate advertised [WISHGATE_UDP_ADDR]")
	fs.Var(list{&c.PublicIPs}, "public-ip", "public IP advertised instead of host addresses (NAT 1:1), repeatable [WISHGATE_PUBLIC_IP]")
	fs.Var(list{&c.PublishTokens}, "publish-token", "bearer token allowed to publish: TOKEN or GLOB=TOKEN, repeatable [WISHGATE_PUBLISH_TOKEN]")
	fs.Var(list{&c.ReadTokens}, "read-token", "bearer token allowed to play: TOKEN or GLOB=TOKEN, repeatable [WISHGATE_READ_TOKEN]")
	fs.Var(list{&c.ICEServers}, "ice-server", "STUN/TURN server announced to clients in Link headers, repeatable [WISHGATE_ICE_SERVERS]")
	fs.StringVar(&c.Replace, "replace", c.Replace, "what a second publisher does: stale, always or never [WISHGATE_REPLACE]")
	fs.DurationVar(&c.GracePeriod, "grace-period", c.GracePeriod, "how long viewers wait for a publisher to come back [WISHGATE_GRACE_PERIOD]")
	fs.BoolVar(&c.StrictETag, "strict-etag", c.StrictETag, "answer 428 to PATCH without If-Match [WISHGATE_STRICT_ETAG]")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest accepted SDP body [WISHGATE_MAX_BODY_BYTES]")
	fs.Var(list{&c.AllowOrigins}, "allow-origin", "CORS origins allowed on WHIP/WHEP (default any) [WISHGATE_ALLOW_ORIGINS]")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error [WISHGATE_LOG_LEVEL]")

	env := map[string]string{
		"http-addr": "WISHGATE_HTTP_ADDR", "udp-addr": "WISHGATE_UDP_ADDR", "public-ip": "WISHGATE_PUBLIC_IP",
		"publish-token": "WISHGATE_PUBLISH_TOKEN", "read-token": "WISHGATE_READ_TOKEN",
		"ice-server": "WISHGATE_ICE_SERVERS", "replace": "WISHGATE_REPLACE", "grace-period": "WISHGATE_GRACE_PERIOD",
		"strict-etag": "WISHGATE_STRICT_ETAG", "max-body-bytes": "WISHGATE_MAX_BODY_BYTES",
		"allow-origin": "WISHGATE_ALLOW_ORIGINS", "log-level": "WISHGATE_LOG_LEVEL",
	}
	for name, key := range env {
		if v := getenv(key); v != "" {
			if err := fs.Set(name, v); err != nil {
				return c, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks every setting and names the one that is wrong.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("http-addr %q: %w", c.HTTPAddr, err))
	}
	if _, _, err := net.SplitHostPort(c.UDPAddr); err != nil {
		errs = append(errs, fmt.Errorf("udp-addr %q: %w", c.UDPAddr, err))
	}
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			errs = append(errs, fmt.Errorf("public-ip %q: not an IP address", ip))
		}
	}
	for _, t := range c.PublishTokens {
		if _, err := auth.ParseRule(t); err != nil {
			errs = append(errs, fmt.Errorf("publish-token: %w", err))
		}
	}
	for _, t := range c.ReadTokens {
		if _, err := auth.ParseRule(t); err != nil {
			errs = append(errs, fmt.Errorf("read-token: %w", err))
		}
	}
	for _, s := range c.ICEServers {
		if _, err := ParseICEServer(s); err != nil {
			errs = append(errs, fmt.Errorf("ice-server %q: %w", redact(s), err))
		}
	}
	if !streams.ReplacePolicy(c.Replace).Valid() {
		errs = append(errs, fmt.Errorf("replace %q: must be stale, always or never", c.Replace))
	}
	if c.GracePeriod < 0 {
		errs = append(errs, fmt.Errorf("grace-period %s: must not be negative", c.GracePeriod))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max-body-bytes %d: must be at least 1024", c.MaxBodyBytes))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: must be debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// Rules converts token settings to auth rules (Validate has checked them).
func Rules(tokens []string) []auth.Rule {
	var out []auth.Rule
	for _, t := range tokens {
		if r, err := auth.ParseRule(t); err == nil {
			out = append(out, r)
		}
	}
	return out
}
