package app

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"log/slog"
	"strconv"
	"time"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/internal/signaling"
)

// engineConfig is the WebRTC transport part of cfg (needs a restart).
func engineConfig(cfg config.Config, log *slog.Logger) rtc.EngineConfig {
	var stun []string
	for _, s := range cfg.STUNServers {
		hp, _ := config.STUNHostPort(s) // Validate checked it
		stun = append(stun, hp)
	}
	return rtc.EngineConfig{
		UDPAddr: cfg.UDPAddr, TCPAddr: cfg.TCPAddr,
		PublicIPs: cfg.PublicIPs, NAT1To1Refresh: cfg.NAT1To1Refresh,
		Interfaces: cfg.Interfaces, HostNetworks: cfg.HostNetworks,
		STUNServers: stun, STUNRefresh: cfg.STUNRefresh,
		DisconnectedTimeout: cfg.ICEDisconnectedTimeout, FailedTimeout: cfg.ICEFailedTimeout,
		RemoteNetworks: cfg.RemoteNetworks(), MaxRemoteCandidates: cfg.MaxRemoteCandidates,
		Logger: log,
	}
}

// authChain builds the auth back-ends cfg configures (live: reload swaps
// the chain inside the app's auth.Swappable).
func authChain(cfg config.Config, log *slog.Logger) *auth.Chain {
	c := &auth.Chain{Static: auth.NewStaticActions(map[auth.Action][]auth.Rule{
		auth.ActionPublish: config.Rules(cfg.PublishTokens),
		auth.ActionRead:    config.Rules(cfg.ReadTokens),
	})}
	if cfg.JWTSecret != "" || cfg.JWTJWKSURL != "" {
		jc := auth.JWTConfig{Claim: cfg.JWTClaim, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience}
		if cfg.JWTSecret != "" {
			jc.Secret = []byte(cfg.JWTSecret)
		}
		if cfg.JWTJWKSURL != "" {
			jc.JWKS = &auth.JWKS{URL: cfg.JWTJWKSURL, Refresh: cfg.JWTJWKSRefresh, Logger: log}
		}
		c.JWT = auth.NewJWT(jc)
	}
	if cfg.AuthCallbackURL != "" {
		c.Callback = auth.NewCallback(auth.CallbackConfig{
			URL: cfg.AuthCallbackURL, Timeout: cfg.AuthCallbackTimeout, CacheTTL: cfg.AuthCallbackCache, Logger: log,
		})
	}
	return c
}

// logAuth states the auth rule in force (tokens never appear, their
// stream patterns do).
func logAuth(log *slog.Logger, c *auth.Chain) {
	log.Info("auth", "publish", c.Rule(auth.ActionPublish), "read", c.Rule(auth.ActionRead),
		"own_streams", "camera sources pulling this gateway's own RTSP streams need no token")
}

// iceLinks are the ICE servers for one response's Link headers: the static
// ones, and TURN servers with credentials minted now (TURN REST API).
func iceLinks(cfg *config.Config, now time.Time) []signaling.ICEServer {
	var out []signaling.ICEServer
	for _, s := range cfg.ICEServers {
		is, err := config.ParseICEServer(s)
		if err == nil {
			out = append(out, signaling.ICEServer{URL: is.URL, Username: is.Username, Credential: is.Credential})
		}
	}
	if len(cfg.TURNServers) > 0 && cfg.TURNSecret != "" {
		user, cred := turnREST(cfg.TURNSecret, cfg.TURNUser, cfg.TURNTTL, now)
		for _, u := range cfg.TURNServers {
			out = append(out, signaling.ICEServer{URL: u, Username: user, Credential: cred})
		}
	}
	return out
}

// iceURLs lists the announced servers without credentials (diagnostics).
func iceURLs(cfg *config.Config) []string {
	var out []string
	for _, is := range iceLinks(cfg, time.Now()) {
		out = append(out, is.URL)
	}
	return out
}

// turnREST mints time-limited TURN credentials as coturn's use-auth-secret
// checks them (draft-uberti-behave-turn-rest-00 §2.2): the username is
// "EXPIRY:USER" with EXPIRY in Unix seconds, the password is
// base64(HMAC-SHA1(secret, username)). Base64 never yields , ; or ", so
// the Link header stays parseable by OBS.
func turnREST(secret, user string, ttl time.Duration, now time.Time) (username, credential string) {
	username = strconv.FormatInt(now.Add(ttl).Unix(), 10) + ":" + user
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
