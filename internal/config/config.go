// Package config holds the gateway's settings: defaults, then environment,
// then flags, then Validate, with the parameter's name in every message.
package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/streams"
)

// Config is every setting of the gateway. Each field's yaml tag is its key in
// the config file; the flag (--key-with-dashes) and environment variable
// (WISHGATE_KEY_IN_CAPS) are derived from it unless `flag` or `env` tags say
// otherwise (see fields.go). Adding a setting is adding a field with a yaml
// and a help tag; fields of types fields.go cannot parse from text (lists of
// structs) are file-only. `secret:"true"` keeps a value out of messages.
// Document every key in config.example.yaml (a test checks it).
type Config struct {
	HTTPAddr string `yaml:"http_addr" help:"HTTP listen address (WHIP, WHEP, API, pages)"`
	// TLSCert and TLSKey make the HTTP listener HTTPS (internal/tlscert):
	// PEM files, picked up again when they change.
	TLSCert string `yaml:"tls_cert" help:"PEM certificate (chain) file: the HTTP listener serves HTTPS (WHIP, WHEP, pages, API); reloaded when the file changes"`
	TLSKey  string `yaml:"tls_key" help:"PEM private key file for tls_cert"`
	UDPAddr string `yaml:"udp_addr" help:"UDP address for all WebRTC media; one IP here is the only host candidate advertised"`
	TCPAddr string `yaml:"tcp_addr" help:"TCP address for ICE-TCP media (clients behind UDP-blocking firewalls); empty disables"`

	// PublicIPs are the advertised addresses (NAT 1:1): IPs or DNS names,
	// the names resolved at start-up and every NAT1To1Refresh.
	PublicIPs      []string      `yaml:"nat_1to1" flag:"public-ip" env:"WISHGATE_PUBLIC_IP" help:"public IP or DNS name advertised instead of host addresses (NAT 1:1), repeatable"`
	NAT1To1Refresh time.Duration `yaml:"nat_1to1_refresh" help:"how often DNS names in nat_1to1 are resolved again"`
	Interfaces     []string      `yaml:"interfaces" flag:"interface" help:"network interfaces whose addresses may be host candidates (default all), repeatable"`
	HostNetworks   []string      `yaml:"host_networks" flag:"host-network" help:"CIDR ranges host candidate addresses must be in (default any), repeatable"`
	STUNServers    []string      `yaml:"stun_servers" flag:"stun-server" help:"STUN server (host:port) the gateway asks for its own reflexive address, repeatable"`
	STUNRefresh    time.Duration `yaml:"stun_refresh" help:"how often the reflexive address is asked again"`

	// ICE timeouts (RFC 8445 / consent freshness, RFC 7675): a peer silent
	// for ICEDisconnectedTimeout is disconnected, for ICEFailedTimeout gone,
	// and its session ends. Together they bound how long a dead peer holds
	// its session slot.
	ICEDisconnectedTimeout time.Duration `yaml:"ice_disconnected_timeout" help:"a WebRTC peer silent this long is disconnected"`
	ICEFailedTimeout       time.Duration `yaml:"ice_failed_timeout" help:"a WebRTC peer silent this long after disconnecting is gone and its session ends"`

	// Remote candidates (internal/rtc/policy.go): where a client may make
	// the gateway send ICE checks, and how many candidates a session holds.
	ICERemoteNetworks   []string `yaml:"ice_remote_networks" flag:"ice-remote-network" help:"\"allow CIDR\" or \"deny CIDR\" rule for remote ICE candidates, first match wins, over the built-in policy, repeatable"`
	MaxRemoteCandidates int      `yaml:"max_remote_candidates" help:"most remote ICE candidates one session holds (offer and PATCHes together); a PATCH beyond gets 422; peer-reflexive ones are capped at twice it in all"`

	ICEServers  []string      `yaml:"ice_servers" flag:"ice-server" env:"WISHGATE_ICE_SERVERS" secret:"true" help:"STUN/TURN server announced to clients in Link headers, repeatable"`
	TURNServers []string      `yaml:"turn_servers" flag:"turn-server" help:"TURN URL announced with time-limited credentials from turn_secret, repeatable"`
	TURNSecret  string        `yaml:"turn_secret" secret:"true" help:"coturn static-auth-secret for TURN REST API credentials"`
	TURNUser    string        `yaml:"turn_user" help:"user part of TURN REST usernames (expiry:user)"`
	TURNTTL     time.Duration `yaml:"turn_ttl" help:"lifetime of TURN REST credentials"`

	PublishTokens []string `yaml:"publish_tokens" flag:"publish-token" env:"WISHGATE_PUBLISH_TOKEN" secret:"true" help:"bearer token allowed to publish: TOKEN or GLOB=TOKEN, repeatable"`
	ReadTokens    []string `yaml:"read_tokens" flag:"read-token" env:"WISHGATE_READ_TOKEN" secret:"true" help:"bearer token allowed to play: TOKEN or GLOB=TOKEN, repeatable"`

	JWTSecret      string        `yaml:"jwt_secret" secret:"true" help:"HS256 key for JWT bearer tokens (at least 32 bytes)"`
	JWTJWKSURL     string        `yaml:"jwt_jwks_url" help:"JWKS URL with the RS256/ES256 keys that sign JWT bearer tokens"`
	JWTJWKSRefresh time.Duration `yaml:"jwt_jwks_refresh" help:"how long fetched JWKS keys are trusted before fetching again"`
	JWTClaim       string        `yaml:"jwt_claim" help:"JWT claim holding the permissions object"`
	JWTIssuer      string        `yaml:"jwt_issuer" help:"required iss of JWTs (empty: not checked)"`
	JWTAudience    string        `yaml:"jwt_audience" help:"required aud of JWTs (empty: not checked)"`

	AuthCallbackURL     string        `yaml:"auth_callback_url" help:"URL the gateway POSTs each auth decision to; 2xx allows"`
	AuthCallbackTimeout time.Duration `yaml:"auth_callback_timeout" help:"how long to wait for the auth callback"`
	AuthCallbackCache   time.Duration `yaml:"auth_callback_cache" help:"how long callback answers are reused (0 disables)"`

	Replace      string        `yaml:"replace" help:"what a second publisher does: stale, always or never"`
	GracePeriod  time.Duration `yaml:"grace_period" help:"how long viewers wait for a publisher to come back"`
	StrictETag   bool          `yaml:"strict_etag" help:"answer 428 to PATCH without If-Match"`
	MaxBodyBytes int64         `yaml:"max_body_bytes" help:"largest accepted SDP body"`
	AllowOrigins []string      `yaml:"allow_origins" flag:"allow-origin" env:"WISHGATE_ALLOW_ORIGINS" help:"CORS origins allowed on WHIP/WHEP (default any), repeatable"`
	LogLevel     string        `yaml:"log_level" help:"debug, info, warn or error"`

	// How a new viewer starts (streams/start.go): from the cached GOP
	// within these bounds, else from a fresh or the next keyframe.
	StartBurstMaxAge   time.Duration `yaml:"start_burst_max_age" help:"oldest cached keyframe a new viewer is sent the GOP from (longer GOPs: it waits for the next keyframe)"`
	StartBurstMaxBytes int           `yaml:"start_burst_max_bytes" help:"most media bytes of cached GOP a new viewer is sent"`
	KeyframeRetry      time.Duration `yaml:"keyframe_request_interval" help:"how often a publisher is asked again for a keyframe while a viewer waits for one"`

	// Limits (internal/signaling/limits.go): beyond them a POST gets 503,
	// a client over its request rate 429, both with Retry-After; sessions
	// already running are never touched. 0 disables a limit.
	MaxStreams          int      `yaml:"max_streams" help:"most streams WHIP publishers may create (republishing an existing one is always allowed); 0 = no limit"`
	MaxSessions         int      `yaml:"max_sessions" help:"most live WHIP plus WHEP sessions; 0 = no limit"`
	MaxViewers          int      `yaml:"max_viewers" help:"most live WHEP sessions on this gateway; 0 = no limit (in a cluster, more are redirected)"`
	MaxViewersPerStream int      `yaml:"max_viewers_per_stream" help:"most live WHEP sessions of one stream; 0 = no limit"`
	MaxPendingOffers    int      `yaml:"max_pending_offers" help:"most POSTs negotiating (ICE gathering, DTLS set-up) at once; more wait up to 2 s, then 503; 0 = no limit"`
	RateLimit           float64  `yaml:"rate_limit" help:"POST/PATCH/DELETE requests per second per client IP (IPv6: per /64); 0 = no limit"`
	RateBurst           int      `yaml:"rate_burst" help:"requests a client may make at once before rate_limit applies"`
	RateLimitExempt     []string `yaml:"rate_limit_exempt" help:"CIDR ranges never rate limited nor held to max_connections_per_ip (a reverse proxy, the load tool), repeatable"`

	// Connections (internal/connlimit): every connection a stranger opens
	// has a deadline, and each client address a share of each listener.
	HTTPReadTimeout     time.Duration `yaml:"http_read_timeout" help:"an HTTP request's headers and body must arrive within this"`
	HTTPWriteTimeout    time.Duration `yaml:"http_write_timeout" help:"an HTTP response must be written within this of its request's headers (streaming responses set their own)"`
	HTTPIdleTimeout     time.Duration `yaml:"http_idle_timeout" help:"an idle HTTP keep-alive connection is closed after this"`
	MaxConnections      int           `yaml:"max_connections" help:"most TCP connections open at once on each of the HTTP, RTSP and RTSPS listeners; more are refused"`
	MaxConnectionsPerIP int           `yaml:"max_connections_per_ip" help:"most TCP connections of one client IP (IPv6: /64) on each listener (an RTSP session over UDP counts as one); more are refused"`
	RTSPIdleTimeout     time.Duration `yaml:"rtsp_idle_timeout" help:"an RTSP connection without a playing or recording session that sends nothing this long is closed"`
	RTSPReadTimeout     time.Duration `yaml:"rtsp_read_timeout" help:"an RTSP publisher that sends no media this long is closed"`
	RTSPWriteTimeout    time.Duration `yaml:"rtsp_write_timeout" help:"an RTSP reader that takes no data for this long is closed"`

	// Operations (internal/api, internal/app): the control API's token and
	// the profiling listener.
	AdminToken string `yaml:"admin_token" secret:"true" help:"bearer token for the control API under /api/v1 (empty: it answers loopback clients only)"`
	PprofAddr  string `yaml:"pprof_addr" help:"listen address of a separate net/http/pprof listener, e.g. 127.0.0.1:6060 (empty: off)"`
	// APIAllowedHosts are Host names, besides loopback addresses and
	// localhost, the token-less loopback-only control API answers (DNS
	// rebinding: internal/api/access.go).
	APIAllowedHosts []string `yaml:"api_allowed_hosts" flag:"api-allowed-host" help:"Host name the control API accepts without admin_token besides 127.0.0.1, [::1] and localhost, repeatable"`

	// RTSP (bridge/): the server every stream is readable from, and cameras
	// pulled as stream sources. Source URLs carry camera passwords: secret.
	RTSPAddr           string        `yaml:"rtsp_addr" help:"RTSP listen address (TCP): every stream is readable at rtsp://HOST:PORT/NAME and RTSP clients publish there; empty disables RTSP"`
	RTSPUDPRTPAddr     string        `yaml:"rtsp_udp_rtp_addr" help:"UDP address (even port) for RTP to RTSP readers, like MediaMTX :8000; empty, or a port another program holds: RTSP over TCP only"`
	RTSPUDPRTCPAddr    string        `yaml:"rtsp_udp_rtcp_addr" help:"UDP address for RTCP to RTSP readers: the RTP port + 1 (e.g. :8001)"`
	RTSPMulticastRange string        `yaml:"rtsp_multicast_ip_range" help:"IPv4 multicast range (e.g. 239.10.0.0/16) groups for RTSP readers over UDP multicast are taken from; empty: no multicast"`
	RTSPMulticastRTP   int           `yaml:"rtsp_multicast_rtp_port" help:"UDP port (even) of RTP sent to RTSP multicast groups"`
	RTSPMulticastRTCP  int           `yaml:"rtsp_multicast_rtcp_port" help:"UDP port of RTCP sent to RTSP multicast groups: the RTP port + 1"`
	RTSPSAddr          string        `yaml:"rtsps_addr" help:"RTSPS (RTSP over TLS) listen address, e.g. :8322; needs rtsps_cert and rtsps_key; empty: off"`
	RTSPSCert          string        `yaml:"rtsps_cert" help:"PEM certificate (chain) file for RTSPS"`
	RTSPSKey           string        `yaml:"rtsps_key" help:"PEM private key file for RTSPS"`
	Sources            []string      `yaml:"sources" flag:"source" env:"WISHGATE_SOURCES" secret:"true" help:"always-on RTSP camera NAME=rtsp://user:pass@host/path (append #transport=tcp|udp|multicast to force one), repeatable"`
	SourcesOnDemand    []string      `yaml:"sources_on_demand" flag:"source-on-demand" env:"WISHGATE_SOURCES_ON_DEMAND" secret:"true" help:"RTSP camera pulled only while it has readers, NAME=URL, repeatable"`
	SourcesStateFile   string        `yaml:"sources_state_file" help:"JSON file keeping the cameras added, replaced or removed over the control API across restarts (default: wishgate-sources.json next to the config file; none without one; off: not kept)"`
	SourceCloseDelay   time.Duration `yaml:"source_close_delay" help:"how long an on-demand camera stays connected after its last reader left"`
	SourceBackoffBase  time.Duration `yaml:"source_backoff_base" help:"first delay before reconnecting a failed camera (doubles per attempt, jittered)"`
	SourceBackoffMax   time.Duration `yaml:"source_backoff_max" help:"longest delay between camera reconnect attempts"`
	SourceStallTimeout time.Duration `yaml:"source_stall_timeout" help:"a camera that sent media and then nothing for this long is down: its stream leaves live and the camera is reconnected"`
	// AudioTranscode (internal/transcode): camera audio WebRTC cannot play.
	AudioTranscode string `yaml:"audio_transcode" help:"auto: camera audio WebRTC cannot play (AAC, G.711 at other rates or stereo, L16/L24) reaches WebRTC viewers as Opus, transcoded once per stream while they watch; off: they get no audio from such tracks"`

	// Cluster (internal/cluster, docs/cluster.md): gateways sharing one
	// Redis serve every stream from every node. Empty URL: single node.
	ClusterRedisURL     string        `yaml:"cluster_redis_url" secret:"true" help:"Redis that coordinates a cluster of gateways, redis://[user:pass@]host:port/db or rediss:// (empty: single node)"`
	ClusterNodeID       string        `yaml:"cluster_node_id" help:"this gateway's unique id in the cluster (empty: the host name)"`
	ClusterAdvertiseURL string        `yaml:"cluster_advertise_url" help:"base URL other nodes reach this gateway's HTTP listener at, e.g. http://10.0.0.5:8080 (required when http_addr has no specific IP)"`
	ClusterSecret       string        `yaml:"cluster_secret" secret:"true" help:"shared secret (at least 32 bytes) that authenticates node-to-node relay pulls"`
	ClusterRelayLinger  time.Duration `yaml:"cluster_relay_linger" help:"how long a relay from another node stays up after its last local reader left"`
	ClusterLeaseTTL     time.Duration `yaml:"cluster_lease_ttl" help:"lifetime of stream ownership leases and node heartbeats in Redis (renewed every third of it)"`
	ClusterCPUThreshold float64       `yaml:"cluster_cpu_threshold" help:"percent of the machine's CPU above which new viewers are redirected to another node (0: never)"`
}

// Default returns the embedded defaults: `go run ./cmd/gateway` runs on these.
func Default() Config {
	return Config{
		HTTPAddr:               ":8080",
		UDPAddr:                ":8189",
		TCPAddr:                ":8189",
		NAT1To1Refresh:         time.Minute,
		STUNRefresh:            time.Minute,
		ICEDisconnectedTimeout: 5 * time.Second,
		ICEFailedTimeout:       20 * time.Second,
		MaxRemoteCandidates:    32,
		TURNUser:               "wishgate",
		TURNTTL:                24 * time.Hour,
		JWTJWKSRefresh:         5 * time.Minute,
		JWTClaim:               "wishgate",
		AuthCallbackTimeout:    2 * time.Second,
		AuthCallbackCache:      5 * time.Second,
		Replace:                string(streams.ReplaceStale),
		GracePeriod:            10 * time.Second,
		StartBurstMaxAge:       streams.DefaultStartBurstMaxAge,
		StartBurstMaxBytes:     streams.DefaultStartBurstMaxBytes,
		KeyframeRetry:          streams.DefaultKeyframeRequestInterval,
		MaxBodyBytes:           128 << 10,
		MaxStreams:             1000,
		MaxSessions:            5000,
		MaxViewersPerStream:    0,
		MaxPendingOffers:       64,
		RateLimit:              20,
		RateBurst:              40,
		RateLimitExempt:        []string{"127.0.0.0/8", "::1/128"},
		HTTPReadTimeout:        10 * time.Second,
		HTTPWriteTimeout:       30 * time.Second,
		HTTPIdleTimeout:        time.Minute,
		MaxConnections:         4096,
		MaxConnectionsPerIP:    256,
		RTSPIdleTimeout:        30 * time.Second,
		RTSPReadTimeout:        10 * time.Second,
		RTSPWriteTimeout:       10 * time.Second,
		LogLevel:               "info",
		RTSPAddr:               ":8554",
		RTSPUDPRTPAddr:         ":8000",
		RTSPUDPRTCPAddr:        ":8001",
		RTSPMulticastRTP:       8002,
		RTSPMulticastRTCP:      8003,
		SourceCloseDelay:       10 * time.Second,
		SourceStallTimeout:     2 * time.Second,
		SourceBackoffBase:      time.Second,
		SourceBackoffMax:       30 * time.Second,
		AudioTranscode:         "auto",
		ClusterRelayLinger:     10 * time.Second,
		ClusterLeaseTTL:        6 * time.Second,
	}
}

// Parse applies the config file (--config or WISHGATE_CONFIG), then
// environment variables (WISHGATE_*), then args over the defaults, and
// validates. getenv is os.Getenv in production.
func Parse(args []string, getenv func(string) string) (Config, error) {
	return Source{Args: args, Getenv: getenv}.Load()
}

// Validate checks every setting and names the one that is wrong (its file
// key, and its flag where that is not the key with dashes).
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", paramName(key), fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("http_addr", "%q: %v", c.HTTPAddr, err)
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		bad("tls_cert", "set both tls_cert and tls_key for HTTPS, or neither for plain HTTP")
	case c.TLSCert != "":
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			bad("tls_cert", "%q / tls_key %q: %v", c.TLSCert, c.TLSKey, err)
		}
	}
	if _, _, err := net.SplitHostPort(c.UDPAddr); err != nil {
		bad("udp_addr", "%q: %v", c.UDPAddr, err)
	}
	if c.TCPAddr != "" {
		if _, _, err := net.SplitHostPort(c.TCPAddr); err != nil {
			bad("tcp_addr", "%q: %v (empty disables ICE-TCP)", c.TCPAddr, err)
		}
	}
	for _, h := range c.PublicIPs {
		if net.ParseIP(h) == nil && !validHostname(h) {
			bad("nat_1to1", "%q: not an IP address or DNS name", h)
		}
	}
	if len(c.PublicIPs) > 0 && c.NAT1To1Refresh < time.Second {
		bad("nat_1to1_refresh", "%s: must be at least 1s", c.NAT1To1Refresh)
	}
	for _, n := range c.Interfaces {
		if n == "" || strings.ContainsAny(n, " /") {
			bad("interfaces", "%q: not an interface name", n)
		}
	}
	for _, n := range c.HostNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			bad("host_networks", "%q: want a CIDR range like 10.0.0.0/8", n)
		}
	}
	for _, s := range c.STUNServers {
		if _, err := STUNHostPort(s); err != nil {
			bad("stun_servers", "%q: %v", s, err)
		}
	}
	if len(c.STUNServers) > 0 && c.STUNRefresh < 5*time.Second {
		bad("stun_refresh", "%s: must be at least 5s", c.STUNRefresh)
	}
	for _, s := range c.ICEServers {
		if _, err := ParseICEServer(s); err != nil {
			bad("ice_servers", "%q: %v", redact(s), err)
		}
	}
	for _, s := range c.TURNServers {
		if err := checkTURNURL(s); err != nil {
			bad("turn_servers", "%q: %v", s, err)
		}
	}
	switch {
	case len(c.TURNServers) > 0 && c.TURNSecret == "":
		bad("turn_secret", "required with turn_servers (the coturn static-auth-secret)")
	case len(c.TURNServers) == 0 && c.TURNSecret != "":
		bad("turn_servers", "required with turn_secret (the TURN URLs to announce)")
	}
	if len(c.TURNServers) > 0 {
		if c.TURNTTL < time.Minute {
			bad("turn_ttl", "%s: must be at least 1m", c.TURNTTL)
		}
		if c.TURNUser == "" || strings.ContainsAny(c.TURNUser, `:,;" `) {
			bad("turn_user", "%q: must be non-empty without : , ; \" or spaces", c.TURNUser)
		}
	}
	for _, t := range c.PublishTokens {
		if _, err := auth.ParseRule(t); err != nil {
			bad("publish_tokens", "%v", err)
		}
	}
	for _, t := range c.ReadTokens {
		if _, err := auth.ParseRule(t); err != nil {
			bad("read_tokens", "%v", err)
		}
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		// RFC 7518 §3.2: an HS256 key is at least as long as the hash (256 bits).
		bad("jwt_secret", "must be at least 32 bytes (RFC 7518 §3.2), got %d", len(c.JWTSecret))
	}
	if c.JWTJWKSURL != "" {
		if err := checkHTTPURL(c.JWTJWKSURL); err != nil {
			bad("jwt_jwks_url", "%q: %v", c.JWTJWKSURL, err)
		}
		if c.JWTJWKSRefresh < time.Second {
			bad("jwt_jwks_refresh", "%s: must be at least 1s", c.JWTJWKSRefresh)
		}
	}
	if (c.JWTSecret != "" || c.JWTJWKSURL != "") && c.JWTClaim == "" {
		bad("jwt_claim", "must not be empty")
	}
	if c.AuthCallbackURL != "" {
		if err := checkHTTPURL(c.AuthCallbackURL); err != nil {
			bad("auth_callback_url", "%q: %v", c.AuthCallbackURL, err)
		}
		if c.AuthCallbackTimeout <= 0 || c.AuthCallbackTimeout > time.Minute {
			bad("auth_callback_timeout", "%s: must be between 0 and 1m", c.AuthCallbackTimeout)
		}
		if c.AuthCallbackCache < 0 {
			bad("auth_callback_cache", "%s: must not be negative", c.AuthCallbackCache)
		}
	}
	if !streams.ReplacePolicy(c.Replace).Valid() {
		bad("replace", "%q: must be stale, always or never", c.Replace)
	}
	if c.GracePeriod < 0 {
		bad("grace_period", "%s: must not be negative", c.GracePeriod)
	}
	if c.StartBurstMaxAge < 0 || c.StartBurstMaxAge > time.Minute {
		bad("start_burst_max_age", "%s: must be between 0 (no burst) and 1m", c.StartBurstMaxAge)
	}
	if c.StartBurstMaxBytes < 0 {
		bad("start_burst_max_bytes", "%d: must not be negative (0: no burst)", c.StartBurstMaxBytes)
	}
	if c.KeyframeRetry < 500*time.Millisecond {
		bad("keyframe_request_interval", "%s: must be at least 500ms (keyframe requests are throttled to one per 500ms)", c.KeyframeRetry)
	}
	if c.ICEDisconnectedTimeout < 500*time.Millisecond {
		bad("ice_disconnected_timeout", "%s: must be at least 500ms (ICE checks run every 2s while idle)", c.ICEDisconnectedTimeout)
	}
	if c.ICEFailedTimeout < time.Second {
		bad("ice_failed_timeout", "%s: must be at least 1s", c.ICEFailedTimeout)
	}
	if c.MaxBodyBytes < 1024 {
		bad("max_body_bytes", "%d: must be at least 1024", c.MaxBodyBytes)
	}
	for key, v := range map[string]int{"max_streams": c.MaxStreams, "max_sessions": c.MaxSessions,
		"max_viewers": c.MaxViewers, "max_viewers_per_stream": c.MaxViewersPerStream, "max_pending_offers": c.MaxPendingOffers, "rate_burst": c.RateBurst} {
		if v < 0 {
			bad(key, "%d: must not be negative (0 = no limit)", v)
		}
	}
	if c.RateLimit < 0 {
		bad("rate_limit", "%g: must not be negative (0 = no limit)", c.RateLimit)
	}
	for _, p := range c.RateLimitExempt {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad("rate_limit_exempt", "%q: not a CIDR range (e.g. 10.0.0.0/8)", p)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q: must be debug, info, warn or error", c.LogLevel)
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			bad("pprof_addr", "%q: %v", c.PprofAddr, err)
		} else if _, port, _ := net.SplitHostPort(c.PprofAddr); port != "0" && c.PprofAddr == c.HTTPAddr {
			bad("pprof_addr", "%q: must differ from http_addr (profiles are never served on the public listener)", c.PprofAddr)
		}
	}
	errs = append(errs, c.validateRTSP()...)
	errs = append(errs, c.validateCluster()...)
	errs = append(errs, c.validateExposure()...)
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
