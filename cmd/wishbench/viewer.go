package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// viewer is a lean WHEP viewer: plain HTTP signaling (so any WHEP server
// works), a pion PeerConnection with only what a browser would run that
// matters here (NACK generator, receiver reports), and a zero-allocation
// read loop feeding the synthetic-frame assembler. The load tool runs
// hundreds of them, so its own cost is kept low.
type viewer struct {
	id       int
	endpoint string
	token    string
	hc       *http.Client
	pc       *webrtc.PeerConnection
	location string
	layerURL string // the WHEP layer extension's URL, if the 201 linked one
	// maxPayload is the publisher's: pictures are checked by size, so a
	// server that re-packetizes is measured like one that forwards.
	maxPayload int

	postAt time.Time

	mu          sync.Mutex
	firstRTP    time.Time
	firstKey    time.Time
	frames      []bool    // by frame id: received whole
	latencies   []latency // frames sent after postAt
	broken      uint64
	rtpPackets  uint64
	audioFrames uint64

	wg sync.WaitGroup
}

type latency struct {
	sent time.Time
	ms   float64
}

func newViewerAPI(useNACK bool, configure func(*webrtc.SettingEngine)) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	for _, id := range []client.CodecID{client.CodecH264, client.CodecOpus} {
		if err := me.RegisterCodec(id.Params(), id.Kind()); err != nil {
			return nil, err
		}
	}
	ir := &interceptor.Registry{}
	if useNACK {
		gen, err := nack.NewGeneratorInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(gen)
	}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, err
	}
	ir.Add(rr)
	se := client.LoopbackSettingEngine(nil)
	if configure != nil {
		configure(se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(*se), webrtc.WithInterceptorRegistry(ir)), nil
}

// join negotiates (full ICE gathering, then one POST) and starts reading.
func (v *viewer) join(ctx context.Context, api *webrtc.API) error {
	v.postAt = time.Now()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	v.pc = pc
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.pc == nil {
			return // closing
		}
		v.wg.Add(1)
		go v.read(t)
	})
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
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
}

func (v *viewer) read(t *webrtc.TrackRemote) {
	defer v.wg.Done()
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	buf := make([]byte, 1500)
	var h rtp.Header
	asm := client.SynthAssembler{MaxPayload: v.maxPayload}
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		hl, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		payload := buf[hl:n]
		if h.Padding && len(payload) > 0 {
			payload = payload[:max(0, len(payload)-int(payload[len(payload)-1]))]
		}
		v.mu.Lock()
		v.rtpPackets++
		if v.firstRTP.IsZero() {
			v.firstRTP = now
		}
		if !video {
			v.audioFrames++
			v.mu.Unlock()
			continue
		}
		f, ok := asm.Push(&h, payload, now)
		v.broken = asm.Broken
		if ok {
			if f.Keyframe && v.firstKey.IsZero() {
				v.firstKey = now
			}
			if !v.firstKey.IsZero() {
				for uint64(len(v.frames)) <= f.Frame {
					v.frames = append(v.frames, false)
				}
				v.frames[f.Frame] = true
				if f.SentAt.After(v.postAt) {
					v.latencies = append(v.latencies, latency{sent: f.SentAt, ms: float64(now.Sub(f.SentAt).Microseconds()) / 1000})
				}
			}
		}
		v.mu.Unlock()
	}
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
	v.mu.Lock()
	pc := v.pc
	v.pc = nil
	v.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
	v.wg.Wait()
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
