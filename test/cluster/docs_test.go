package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/wishgate/wishgate/internal/config"
)

// The docker compose example of docs/cluster.md parses, and its three
// gateways are configured as a cluster the gateway would accept.
func TestComposeExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cluster.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/cluster.md has no yaml block")
	}
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(block), &doc); err != nil {
		t.Fatalf("the compose example does not parse: %v", err)
	}
	ids := map[string]bool{}
	for _, name := range []string{"node1", "node2", "node3"} {
		s, ok := doc.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		env := s.Environment
		c, err := config.Parse(nil, func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("%s: the gateway refuses its configuration: %v", name, err)
		}
		if !c.Clustered() || c.ClusterAdvertiseURL != "http://"+name+":8080" {
			t.Fatalf("%s: %+v", name, env)
		}
		ids[c.ClusterNodeID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("node ids %v are not distinct", ids)
	}
	if _, ok := doc.Services["redis"]; !ok {
		t.Fatal("no redis service")
	}
}
