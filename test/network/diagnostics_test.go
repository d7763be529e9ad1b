package network

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wishgate/wishgate"
	"github.com/wishgate/wishgate/internal/api"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/rtc"
)

func TestDiagnosticsEndpoint(t *testing.T) {
	gw, _ := start(t, func(c *config.Config) {
		c.PublicIPs = []string{"localhost", "198.51.100.20"}
		c.ICEServers = []string{"stun:stun.example.com:3478", "turn:alice:wonder@turn.example.com:3478"}
	})
	resp, err := http.Get(gw.URL() + "/api/v1/diagnostics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	defer http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "wonder") || strings.Contains(string(raw), "alice") {
		t.Fatalf("TURN credentials in the report: %s", raw)
	}
	var d api.Diagnostics
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if !d.UDP.Bound || d.UDP.Addr != gw.UDPAddr().String() || !d.TCP.Enabled || !d.TCP.Bound || d.TCP.Addr != gw.TCPAddr().String() {
		t.Fatalf("listeners: %+v %+v", d.UDP, d.TCP)
	}
	if len(d.NAT1To1) != 2 || !slices.Contains(d.NAT1To1[0].Resolved, "127.0.0.1") || d.NAT1To1[1].Resolved[0] != "198.51.100.20" {
		t.Fatalf("nat_1to1: %+v", d.NAT1To1)
	}
	if len(d.Candidates) == 0 || d.Candidates[0].Protocol != "udp" || d.Candidates[0].Type != "host" || d.Candidates[0].Port != gw.UDPAddr().Port {
		t.Fatalf("first candidate: %+v", d.Candidates)
	}
	has := func(proto, addr string, port int) bool {
		return slices.ContainsFunc(d.Candidates, func(c rtc.CandidateReport) bool {
			return c.Protocol == proto && c.Address == addr && c.Port == port
		})
	}
	if !has("udp", "198.51.100.20", gw.UDPAddr().Port) || !has("tcp", "198.51.100.20", gw.TCPAddr().Port) {
		t.Fatalf("the advertised address is missing: %+v", d.Candidates)
	}
	if !slices.Equal(d.ICEServers, []string{"stun:stun.example.com:3478", "turn:turn.example.com:3478"}) {
		t.Fatalf("ice_servers: %v", d.ICEServers)
	}
	if d.Warnings == nil {
		t.Fatal("warnings must be a list")
	}

	// The body matches the schema openapi.yaml publishes for it.
	doc, err := openapi3.NewLoader().LoadFromData(wishgate.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Find("/api/v1/diagnostics")
	if op == nil || op.Get == nil {
		t.Fatal("GET /api/v1/diagnostics is not in openapi.yaml")
	}
	schema := op.Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if err := schema.VisitJSON(v); err != nil {
		t.Fatalf("the report does not match openapi.yaml: %v", err)
	}
}
