package config

import (
	"fmt"
	"time"

	"github.com/wishgate/wishgate/internal/rtc"
)

// validateExposure checks the settings that bound what strangers can make
// the gateway do: where it sends ICE checks and how many candidates it keeps
// (docs/security.md lists each with the attack it stops).
func (c Config) validateExposure() []error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", paramName(key), fmt.Sprintf(format, args...)))
	}
	for _, r := range c.ICERemoteNetworks {
		if _, err := rtc.ParseRemoteNetwork(r); err != nil {
			bad("ice_remote_networks", "%v", err)
		}
	}
	if c.MaxRemoteCandidates < 1 || c.MaxRemoteCandidates > 1000 {
		bad("max_remote_candidates", "%d: must be between 1 and 1000", c.MaxRemoteCandidates)
	}
	// No 0 = off here: nothing a stranger opens may stay open forever.
	for key, d := range map[string]time.Duration{"http_read_timeout": c.HTTPReadTimeout, "http_write_timeout": c.HTTPWriteTimeout,
		"http_idle_timeout": c.HTTPIdleTimeout, "rtsp_idle_timeout": c.RTSPIdleTimeout, "rtsp_read_timeout": c.RTSPReadTimeout,
		"rtsp_write_timeout": c.RTSPWriteTimeout} {
		if d < 100*time.Millisecond || d > time.Hour {
			bad(key, "%s: must be between 100ms and 1h", d)
		}
	}
	if c.HTTPWriteTimeout < c.HTTPReadTimeout {
		// The write deadline runs from the request's headers: it covers
		// reading the body and the handler too.
		bad("http_write_timeout", "%s: must be at least http_read_timeout (%s)", c.HTTPWriteTimeout, c.HTTPReadTimeout)
	}
	if c.MaxConnections < 1 {
		bad("max_connections", "%d: must be at least 1", c.MaxConnections)
	}
	if c.MaxConnectionsPerIP < 1 || c.MaxConnectionsPerIP > c.MaxConnections {
		bad("max_connections_per_ip", "%d: must be between 1 and max_connections (%d)", c.MaxConnectionsPerIP, c.MaxConnections)
	}
	for _, h := range c.APIAllowedHosts {
		if !validHostname(h) {
			bad("api_allowed_hosts", "%q: not a host name", h)
		}
	}
	return errs
}

// RemoteNetworks returns the parsed ice_remote_networks (Validate checked them).
func (c Config) RemoteNetworks() []rtc.RemoteNetwork {
	var out []rtc.RemoteNetwork
	for _, s := range c.ICERemoteNetworks {
		if r, err := rtc.ParseRemoteNetwork(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}
