package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// nodeID is what a cluster node id may be: it appears in Redis keys, logs,
// the API and a relay's User-Agent.
var nodeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// minClusterSecret is the shortest cluster_secret: 256 bits, as for an
// HS256 key (RFC 7518 §3.2).
const minClusterSecret = 32

// Clustered reports whether the gateway joins a cluster.
func (c Config) Clustered() bool { return c.ClusterRedisURL != "" }

// NodeID is cluster_node_id, or the host name when it is empty.
func (c Config) NodeID() (string, error) {
	id := c.ClusterNodeID
	if id == "" {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("cluster_node_id: empty and the host name is unknown (%v): set one", err)
		}
		id = h
	}
	if !nodeID.MatchString(id) {
		return "", fmt.Errorf("cluster_node_id: %q: want 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return id, nil
}

// AdvertiseURL is cluster_advertise_url, or, when http_addr names one IP,
// http://that-IP:port with the port actually bound.
func (c Config) AdvertiseURL(bound net.Addr) string {
	if c.ClusterAdvertiseURL != "" {
		return strings.TrimSuffix(c.ClusterAdvertiseURL, "/")
	}
	host, _, _ := net.SplitHostPort(c.HTTPAddr)
	_, port, _ := net.SplitHostPort(bound.String())
	return "http://" + net.JoinHostPort(host, port)
}

// validateCluster checks the cluster settings; with cluster_redis_url empty
// only their ranges are checked (they are unused).
func (c Config) validateCluster() []error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", paramName(key), fmt.Sprintf(format, args...)))
	}
	if c.ClusterRelayLinger < 0 {
		bad("cluster_relay_linger", "%s: must not be negative", c.ClusterRelayLinger)
	}
	if c.ClusterLeaseTTL < 300*time.Millisecond || c.ClusterLeaseTTL > 5*time.Minute {
		bad("cluster_lease_ttl", "%s: must be between 300ms and 5m", c.ClusterLeaseTTL)
	}
	if c.ClusterCPUThreshold < 0 || c.ClusterCPUThreshold > 100 {
		bad("cluster_cpu_threshold", "%g: must be a percentage between 0 (off) and 100", c.ClusterCPUThreshold)
	}
	if !c.Clustered() {
		return errs
	}
	if err := checkRedisURL(c.ClusterRedisURL); err != nil {
		bad("cluster_redis_url", "%v", err) // the URL itself may hold a password: not echoed
	}
	if len(c.ClusterSecret) < minClusterSecret {
		bad("cluster_secret", "required with cluster_redis_url, at least %d bytes, got %d", minClusterSecret, len(c.ClusterSecret))
	}
	if _, err := c.NodeID(); err != nil {
		errs = append(errs, err)
	}
	if c.ClusterAdvertiseURL != "" {
		if err := checkHTTPURL(c.ClusterAdvertiseURL); err != nil {
			bad("cluster_advertise_url", "%q: %v", c.ClusterAdvertiseURL, err)
		} else if u, _ := url.Parse(c.ClusterAdvertiseURL); (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			bad("cluster_advertise_url", "%q: want a base URL (scheme, host and port only)", c.ClusterAdvertiseURL)
		}
	} else if host, _, err := net.SplitHostPort(c.HTTPAddr); err == nil {
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			bad("cluster_advertise_url", "required when http_addr %q has no specific IP: other nodes must know where to reach this one", c.HTTPAddr)
		}
	}
	return errs
}

// checkRedisURL accepts redis://[user:pass@]host:port/db and rediss://.
func checkRedisURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL; want redis://[user:pass@]host:port/db or rediss://")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return fmt.Errorf("scheme %q: want redis:// or rediss://", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("no host; want redis://[user:pass@]host:port/db")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("port %q: want 1-65535", p)
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return fmt.Errorf("database %q: want a number", db)
		}
	}
	return nil
}
