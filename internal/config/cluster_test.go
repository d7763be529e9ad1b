package config

import (
	"net"
	"os"
	"strings"
	"testing"
)

func TestClusterValidation(t *testing.T) {
	base := func() Config {
		c := Default()
		c.HTTPAddr = "10.0.0.5:8080"
		c.ClusterRedisURL = "redis://:pw@redis:6379/1"
		c.ClusterNodeID = "n1"
		c.ClusterSecret = strings.Repeat("s", 32)
		return c
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("valid cluster settings refused: %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"short secret":     {func(c *Config) { c.ClusterSecret = "short" }, "cluster_secret"},
		"bad scheme":       {func(c *Config) { c.ClusterRedisURL = "http://redis:6379" }, "cluster_redis_url"},
		"bad db":           {func(c *Config) { c.ClusterRedisURL = "redis://redis:6379/x" }, "cluster_redis_url"},
		"bad node id":      {func(c *Config) { c.ClusterNodeID = "a b" }, "cluster_node_id"},
		"wildcard listen":  {func(c *Config) { c.HTTPAddr = ":8080" }, "cluster_advertise_url"},
		"advertise a path": {func(c *Config) { c.ClusterAdvertiseURL = "http://x:1/p" }, "cluster_advertise_url"},
		"lease too short":  {func(c *Config) { c.ClusterLeaseTTL = 0 }, "cluster_lease_ttl"},
		"cpu over 100":     {func(c *Config) { c.ClusterCPUThreshold = 101 }, "cluster_cpu_threshold"},
		"negative viewers": {func(c *Config) { c.MaxViewers = -1 }, "max_viewers"},
	} {
		c := base()
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("%s: the Redis password is in the message: %v", name, err)
		}
	}
	c := base()
	c.HTTPAddr, c.ClusterAdvertiseURL = ":8080", "http://gw1.example:8080/"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.AdvertiseURL(&net.TCPAddr{Port: 8080}); got != "http://gw1.example:8080" {
		t.Fatalf("AdvertiseURL = %q", got)
	}
	c = base()
	c.HTTPAddr = "127.0.0.2:0"
	if got := c.AdvertiseURL(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 4242}); got != "http://127.0.0.2:4242" {
		t.Fatalf("AdvertiseURL = %q", got)
	}
	c.ClusterNodeID = ""
	host, _ := os.Hostname()
	if id, err := c.NodeID(); err != nil || id != host {
		t.Fatalf("NodeID = %q, %v; want the host name %q", id, err, host)
	}
	// Without a Redis URL the cluster keys are unused and not required.
	c = Default()
	c.ClusterSecret = ""
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
