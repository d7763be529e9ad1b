package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// viewer is a lean WHEP viewer: plain HTTP signaling (so any WHEP server
// works), a pion PeerConnection for ICE, DTLS and RTCP, and the lean media
// path of lean.go (its own UDP socket read in batches, its own SRTP
// decryption, NACKs and receiver reports as a browser sends them). The load
// tool runs hundreds of them, so its own cost is kept low.
type viewer struct {
	id       int
	endpoint string
	token    string
	hc       *http.Client
	pc       *webrtc.PeerConnection
	pcRef    atomic.Pointer[webrtc.PeerConnection]
	mux      *ice.UDPMuxDefault
	location string
	layerURL string // the WHEP layer extension's URL, if the 201 linked one

	postAt time.Time

	// read goroutine only (pion's UDP mux reader, lean.go)
	srtp     *srtp.Context
	hdr      rtp.Header
	videoPTs map[uint8]bool
	early    []earlyPacket // before the keys are known

	mu            sync.Mutex
	asm           client.SynthAssembler
	ssrc          uint32 // ours, in receiver reports
	videoSSRC     uint32
	seqStarted    bool
	baseSeq       uint16
	maxSeq        uint16
	cycles        uint32
	seqReceived   uint32
	missing       []uint16
	firstRTP      time.Time
	firstKey      time.Time
	frames        []bool    // by frame id: received whole
	latencies     []latency // frames sent after postAt
	broken        uint64
	rtpPackets    uint64
	audioFrames   uint64
	undecryptable uint64
}

type latency struct {
	sent time.Time
	ms   float64
}

// viewerNet is where viewers open their sockets and what ICE may use.
type viewerNet struct {
	ip        net.IP // the tool's address: 127.0.0.1 or its address on -link
	configure func(*webrtc.SettingEngine)
}

// newViewerAPI builds one viewer's API: the codecs, no interceptors (the
// lean path does their work), ICE on the viewer's own lean socket.
func newViewerAPI(mux ice.UDPMux, n viewerNet) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	for _, id := range []client.CodecID{client.CodecH264, client.CodecOpus} {
		if err := me.RegisterCodec(id.Params(), id.Kind()); err != nil {
			return nil, err
		}
	}
	se := client.LoopbackSettingEngine(nil)
	if n.configure != nil {
		n.configure(se)
	}
	se.SetICEUDPMux(mux)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(*se),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{})), nil
}

// join negotiates (full ICE gathering, then one POST).
func (v *viewer) join(ctx context.Context, n viewerNet) error {
	v.postAt = time.Now()
	v.ssrc = rand.Uint32()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: n.ip})
	if err != nil {
		return err
	}
	v.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: newLeanConn(conn, v)})
	api, err := newViewerAPI(v.mux, n)
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.pc = pc
	v.mu.Unlock()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return ctx.Err()
	}
	answer, loc, links, err := postSDP(ctx, v.hc, v.endpoint, v.token, pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	v.location, v.layerURL = loc, links[relLayer]
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	v.pcRef.Store(pc)
	return nil
}

// close DELETEs the session (best effort) and stops the readers.
func (v *viewer) close(ctx context.Context) {
	if v.location != "" {
		if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, v.location, nil); err == nil {
			if v.token != "" {
				req.Header.Set("Authorization", "Bearer "+v.token)
			}
			if resp, err := v.hc.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
	v.pcRef.Store(nil)
	v.mu.Lock()
	pc := v.pc
	v.pc = nil
	v.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
	if v.mux != nil {
		_ = v.mux.Close() // and its socket; its read goroutine ends
	}
}

// postSDP sends a WHIP/WHEP offer and returns the answer, the resource URL
// and the URLs of the 201's Link fields by rel.
func postSDP(ctx context.Context, hc *http.Client, endpoint, token, offer string) (answer, location string, links map[string]string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader([]byte(offer)))
	if err != nil {
		return "", "", nil, err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", nil, err
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", "", nil, fmt.Errorf("POST %s: %s: %.200s", endpoint, resp.Status, bytes.TrimSpace(body))
	}
	// Both relative to the URL that answered: a full node redirects (307).
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := resp.Request.URL.Parse(loc); err == nil {
			location = u.String()
		}
	}
	links = map[string]string{}
	for _, f := range resp.Header.Values("Link") {
		if m := linkRe.FindStringSubmatch(f); m != nil {
			if u, err := resp.Request.URL.Parse(m[1]); err == nil {
				links[m[2]] = u.String()
			}
		}
	}
	return string(body), location, links, nil
}

// relLayer is the WHEP layer extension's Link rel.
const relLayer = "urn:ietf:params:whep:ext:core:layer"

// linkRe reads one Link field: <URL>; rel="REL" (RFC 8288).
var linkRe = regexp.MustCompile(`^\s*<([^>]*)>\s*;\s*rel="([^"]*)"`)

// setLayer asks for a layer through the layer extension: a rid, or "" for
// the gateway's automatic choice.
func (v *viewer) setLayer(ctx context.Context, rid string) error {
	if v.layerURL == "" {
		return fmt.Errorf("viewer %d: the server linked no layer extension", v.id)
	}
	body := "{}"
	if rid != "" {
		body = fmt.Sprintf(`{"encodingId":%q}`, rid)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.layerURL, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if v.token != "" {
		req.Header.Set("Authorization", "Bearer "+v.token)
	}
	resp, err := v.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("viewer %d: layer %q: %s: %.200s", v.id, rid, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
