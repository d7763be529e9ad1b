package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

// RelayPath is where a node serves its streams to the other nodes' relays.
const RelayPath = "/cluster/whep/"

// NodeHeader carries the pulling node's id on a relay POST.
const NodeHeader = "Wishgate-Node"

// pull is one WHEP session from an origin, published into the local
// registry as a relay. It is a streams.Publisher.
type pull struct {
	n        *Node
	origin   string // node id
	instance string
	viewer   *client.Viewer
	pub      atomic.Pointer[streams.Publication]
	index    [2]int // local track index by kind (video, audio); -1: none
	cancel   context.CancelFunc
	ended    chan struct{} // closed when the session is over
	reason   atomic.Pointer[error]
	watchEnd chan struct{}
}

// relaySpecs picks from the owner's tracks what WebRTC can carry: the
// first playable video and the first playable audio track.
func relaySpecs(tracks []trackRec) []streams.TrackSpec {
	var out []streams.TrackSpec
	have := map[string]bool{}
	for _, t := range tracks {
		if have[t.Kind] || codec.WebRTCPlayable(t.MimeType, t.ClockRate, t.Channels) != nil {
			continue
		}
		kind := streams.KindVideo
		if t.Kind == "audio" {
			kind = streams.KindAudio
		}
		have[t.Kind] = true
		out = append(out, streams.TrackSpec{Kind: kind, Codec: streams.Codec{
			MimeType: t.MimeType, ClockRate: t.ClockRate, Channels: t.Channels, Fmtp: t.Fmtp}})
	}
	return out
}

// startPull negotiates a relay of name from the owner l and publishes it.
func (n *Node) startPull(ctx context.Context, name string, l lease) (*pull, error) {
	specs := relaySpecs(l.Tracks)
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: %q has no track WebRTC can carry between nodes", streams.ErrNotLive, name)
	}
	origin, err := url.Parse(l.URL)
	if err != nil || origin.Host == "" {
		return nil, fmt.Errorf("owner %s advertises %q, not a URL", l.Node, l.URL)
	}
	api, err := n.relayAPI(specs, origin.Hostname())
	if err != nil {
		return nil, err
	}
	p := &pull{n: n, origin: l.Node, instance: l.Instance, index: [2]int{-1, -1},
		ended: make(chan struct{}), watchEnd: make(chan struct{})}
	opts := client.PlayOptions{Options: client.Options{
		Token: n.cfg.Secret, Header: http.Header{NodeHeader: {n.cfg.NodeID}, "User-Agent": {"wishgate-relay/" + n.cfg.Version}},
		HTTPClient: n.http, API: api, CloseTimeout: 2 * time.Second, NoVideo: true, NoAudio: true,
	}, OnRTP: p.write}
	for i, s := range specs {
		if s.Kind == streams.KindVideo {
			opts.NoVideo, p.index[0] = false, i
		} else {
			opts.NoAudio, p.index[1] = false, i
		}
	}
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := client.Play(nctx, strings.TrimSuffix(l.URL, "/")+RelayPath+url.PathEscape(name), opts)
	if err != nil {
		return nil, err
	}
	if err := dialAdvertised(nctx, v.PeerConnection(), origin.Hostname()); err != nil {
		// The answer's own addresses may still do.
		n.log.Warn("relay: cannot add the origin's cluster address", "stream", name, "origin", l.Node, "error", err)
	}
	p.viewer = v
	pub, err := n.cfg.Registry.Publish(name, specs, p, streams.PublisherInfo{
		Kind: streams.SessionRelay, SessionID: "relay-" + l.Node, RemoteAddr: origin.Host, Origin: l.Node,
	})
	if err != nil {
		_ = v.Close()
		return nil, err
	}
	p.pub.Store(pub)
	wctx, wcancel := context.WithCancel(context.Background())
	p.cancel = wcancel
	go p.watch(wctx)
	n.metrics.relayStarts.Add(1)
	return p, nil
}

// write is the relay's ingest: the raw packet goes into a pooled Packet
// and on to the local registry, as a WHIP session's would.
func (p *pull) write(kind webrtc.RTPCodecType, raw []byte) {
	pub := p.pub.Load()
	if pub == nil {
		return // before the publication exists: no track to feed yet
	}
	i := p.index[0]
	if kind == webrtc.RTPCodecTypeAudio {
		i = p.index[1]
	}
	if i < 0 {
		return // a kind the relay did not ask the origin for
	}
	pkt := streams.NewPacket()
	if len(raw) > len(pkt.Buffer()) {
		pkt.Release()
		pub.Drop(i, streams.DropOversized)
		return
	}
	n := copy(pkt.Buffer(), raw)
	if err := pkt.Unmarshal(pkt.Buffer()[:n]); err != nil {
		pkt.Release()
		pub.Drop(i, streams.DropMalformed)
		return
	}
	p.n.metrics.relayBytes.Add(uint64(n))
	pub.Write(i, pkt, time.Now())
}

// watch ends the pull when its peer connection fails or closes.
func (p *pull) watch(ctx context.Context) {
	defer close(p.watchEnd)
	st, err := p.viewer.WaitState(ctx, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed)
	if err != nil {
		return // closing
	}
	p.end(fmt.Errorf("connection to %s %s", p.origin, st))
}

func (p *pull) end(reason error) {
	if p.reason.CompareAndSwap(nil, &reason) {
		close(p.ended)
	}
}

// Err is why the pull ended.
func (p *pull) Err() error {
	if e := p.reason.Load(); e != nil {
		return *e
	}
	return nil
}

func (p *pull) isEnded() bool {
	select {
	case <-p.ended:
		return true
	default:
		return false
	}
}

// close detaches the publication (readers wait the grace period) and ends
// the session at the origin.
func (p *pull) close() {
	p.end(errors.New("relay stopped"))
	if pub := p.pub.Load(); pub != nil {
		pub.Close()
	}
	_ = p.viewer.Close()
	p.cancel()
	<-p.watchEnd
}

// Connected implements streams.Publisher.
func (p *pull) Connected() bool {
	return p.viewer.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// RequestKeyframe implements streams.Publisher: a PLI to the origin, which
// passes it on to its publisher (throttled there as here).
func (p *pull) RequestKeyframe(track int) {
	if track == p.index[0] {
		_ = p.viewer.SendPLI()
	}
}

// Kick implements streams.Publisher: a local publisher or another relay
// took the stream, or an operator ended it.
func (p *pull) Kick(reason error) { p.end(reason) }

// relayAPI is a pion API with exactly the stream's codecs: the offer then
// holds only what the origin sends, and the answer picks exactly those.
// ICE gives up on a silent origin within the lease TTL.
func (n *Node) relayAPI(specs []streams.TrackSpec, originHost string) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for i, s := range specs {
		c := webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: s.Codec.MimeType, ClockRate: s.Codec.ClockRate,
				Channels: s.Codec.Channels, SDPFmtpLine: s.Codec.Fmtp},
			PayloadType: webrtc.PayloadType(96 + i),
		}
		kind := webrtc.RTPCodecTypeAudio
		if s.Kind == streams.KindVideo {
			kind = webrtc.RTPCodecTypeVideo
			c.RTCPFeedback = []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBNACK},
				{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}, {Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"}}
		}
		switch strings.ToLower(s.Codec.MimeType) {
		case "audio/pcmu":
			c.PayloadType = 0
		case "audio/pcma":
			c.PayloadType = 8
		case "audio/g722":
			c.PayloadType = 9
		case "audio/opus":
			c.Channels = 2 // RFC 7587 §7: opus/48000/2 always
		}
		if err := m.RegisterCodec(c, kind); err != nil {
			return nil, fmt.Errorf("relay codec %s: %w", s.Codec, err)
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICETimeouts(n.renew, n.cfg.LeaseTTL, 500*time.Millisecond)
	if ip := net.ParseIP(originHost); (ip != nil && ip.IsLoopback()) || originHost == "localhost" {
		// Nodes on one machine: loopback candidates only, found at once.
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if len(n.cfg.RelayInterfaces) > 0 {
		keep := n.cfg.RelayInterfaces
		se.SetInterfaceFilter(func(name string) bool {
			for _, k := range keep {
				if k == name {
					return true
				}
			}
			return false
		})
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}
