package rtc

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Diagnostics is what an operator needs to see a NAT problem before a user
// does: the sockets, what the advertised names resolved to, what STUN saw,
// and the candidates an answer would carry right now.
type Diagnostics struct {
	UDP        Listener          `json:"udp"`
	TCP        Listener          `json:"tcp"`
	NAT1To1    []NameStatus      `json:"nat_1to1"`
	STUN       []STUNStatus      `json:"stun"`
	Candidates []CandidateReport `json:"candidates"`
	Warnings   []string          `json:"warnings"`
}

// Listener is one media socket.
type Listener struct {
	Enabled bool   `json:"enabled"`
	Addr    string `json:"addr,omitempty"`
	Bound   bool   `json:"bound"`
}

// CandidateReport is one ICE candidate as an answer would carry it.
type CandidateReport struct {
	Protocol string `json:"protocol"` // udp | tcp
	Address  string `json:"address"`
	Port     int    `json:"port"`
	Type     string `json:"type"`               // host | srflx | …
	TCPType  string `json:"tcp_type,omitempty"` // passive for ICE-TCP
	Line     string `json:"candidate"`
}

// Diagnose gathers candidates with the engine's live settings, exactly as
// for a session (a throwaway peer connection with a data channel), bounded
// by ctx.
func (e *Engine) Diagnose(ctx context.Context) (Diagnostics, error) {
	d := Diagnostics{Warnings: []string{}, Candidates: []CandidateReport{}}
	open := !e.closed.Load()
	d.UDP = Listener{Enabled: true, Addr: e.UDPAddr().String(), Bound: open}
	if a := e.TCPAddr(); a != nil {
		d.TCP = Listener{Enabled: true, Addr: a.String(), Bound: open}
	}
	adv := e.adv.Load()
	d.NAT1To1 = append([]NameStatus{}, adv.Names...)
	d.STUN = append([]STUNStatus{}, adv.STUN...)
	if !open {
		return d, errors.New("the media engine is closed")
	}

	se := e.se
	if rules := adv.rewriteRules(); len(rules) > 0 {
		if err := se.SetICEAddressRewriteRules(rules...); err != nil {
			return d, err
		}
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return d, err
	}
	defer pc.Close()
	if _, err := pc.CreateDataChannel("diagnostics", nil); err != nil {
		return d, err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return d, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return d, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return d, ctx.Err()
	}
	sdp := FinalizeAnswer(pc.LocalDescription().SDP, AnswerOptions{})
	for _, l := range splitLines(sdp) {
		if c, ok := parseCandidateLine(l); ok && !slices.ContainsFunc(d.Candidates, func(x CandidateReport) bool { return x.Line == c.Line }) {
			d.Candidates = append(d.Candidates, c)
		}
	}
	d.Warnings = e.warnings(d)
	return d, nil
}

// parseCandidateLine reads "a=candidate:F 1 udp PRIO ADDR PORT typ TYPE …".
func parseCandidateLine(l string) (CandidateReport, bool) {
	if !strings.HasPrefix(l, "a=candidate:") {
		return CandidateReport{}, false
	}
	f := strings.Fields(l)
	if len(f) < 8 || f[6] != "typ" {
		return CandidateReport{}, false
	}
	port, _ := strconv.Atoi(f[5])
	c := CandidateReport{Protocol: strings.ToLower(f[2]), Address: f[4], Port: port, Type: f[7], Line: strings.TrimPrefix(l, "a=")}
	for i := 8; i+1 < len(f); i += 2 {
		if f[i] == "tcptype" {
			c.TCPType = f[i+1]
		}
	}
	return c, true
}

// warnings points at the usual NAT mistakes.
func (e *Engine) warnings(d Diagnostics) []string {
	w := []string{}
	var udp, tcp, public int
	for _, c := range d.Candidates {
		switch c.Protocol {
		case "udp":
			udp++
		case "tcp":
			tcp++
		}
		if ip, err := parseAddr(c.Address); err == nil && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
			public++
		}
	}
	if udp == 0 {
		w = append(w, "no UDP candidate: check interfaces/host_networks and udp_addr")
	}
	if d.TCP.Enabled && tcp == 0 {
		w = append(w, "ICE-TCP is enabled but no TCP candidate is advertised: check interfaces/host_networks and tcp_addr")
	}
	if public == 0 && udp > 0 {
		w = append(w, "every advertised address is private or loopback: clients outside this network need nat_1to1, stun_servers or a TURN server")
	}
	for _, n := range d.NAT1To1 {
		if n.Error != "" {
			w = append(w, "nat_1to1 "+n.Configured+": "+n.Error)
		}
	}
	for _, s := range d.STUN {
		if s.Error != "" {
			w = append(w, "stun "+s.Server+": "+s.Error)
		}
	}
	return w
}
