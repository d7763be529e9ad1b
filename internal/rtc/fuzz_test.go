package rtc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/streams"
)

// goldenOffers returns every recorded client offer in testdata/sdp: the
// fuzzers start from what real browsers, OBS, FFmpeg and GStreamer send.
func goldenOffers(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "sdp", "*.sdp"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no golden offers: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzParseOffer: whatever a stranger POSTs, ParseOffer returns either a
// consistent Offer within the prescreen's limits, or an ErrMalformed (400)
// or ErrUnsupported (422: two m-lines sharing a mid, more simulcast layers
// than the gateway takes); never a panic, never another error class.
func FuzzParseOffer(f *testing.F) {
	for _, b := range goldenOffers(f) {
		f.Add(b)
	}
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseOffer(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrUnsupported", err)
			}
			return
		}
		if len(o.Media) > maxMediaSections || len(o.Candidates) > maxOfferCandidates ||
			strings.HasPrefix(o.SDP, "a=candidate:") || strings.Contains(o.SDP, "\na=candidate:") {
			t.Fatalf("%d m-lines, %d candidates past the prescreen", len(o.Media), len(o.Candidates))
		}
		mids := map[string]bool{}
		if len(o.Media) != len(o.Parsed.MediaDescriptions) || len(o.Media) == 0 {
			t.Fatalf("%d media for %d m-lines", len(o.Media), len(o.Parsed.MediaDescriptions))
		}
		for _, m := range o.Media {
			if !m.Rejected && m.Mid == "" {
				t.Fatalf("accepted m-line %d without mid", m.Index)
			}
			if m.Mid != "" && mids[m.Mid] {
				t.Fatalf("mid %q twice", m.Mid)
			}
			mids[m.Mid] = true
			for _, c := range m.Codecs {
				if !strings.HasPrefix(c.MimeType, m.Kind+"/") {
					t.Fatalf("codec %q in a %s m-line", c.MimeType, m.Kind)
				}
				if c.ClockRate == 0 || len(c.Feedback) > 2*maxFeedbackPerType {
					t.Fatalf("codec %+v: clock rate 0 or unbounded feedback", c)
				}
			}
			if n := len(Layers(m.Simulcast)); n > MaxSimulcastLayers || (m.Simulcast != nil && n == 0) {
				t.Fatalf("m-line %d: %d simulcast layers", m.Index, n)
			}
		}
	})
}

// FuzzParseFragment: a PATCH body is either a Fragment within the line
// bound or ErrMalformed (400).
func FuzzParseFragment(f *testing.F) {
	f.Add([]byte("a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef01234567\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\r\na=end-of-candidates\r\n"))
	f.Add([]byte("a=candidate:1 1 udp 2122260223 abcdef.local 50000 typ host generation 0\r\n"))
	f.Add([]byte("a=ice-ufrag:x\n"))
	f.Add([]byte("a=candidate:1 1 tcp 1 ::1 9 typ host tcptype active\r\n"))
	for _, b := range goldenOffers(f) {
		f.Add(b) // an offer is also a (large) sdpfrag
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := ParseFragment(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if (fr.Ufrag == "") != (fr.Pwd == "") {
			t.Fatal("ufrag without pwd accepted")
		}
		if len(fr.Candidates) > maxFragLines {
			t.Fatalf("%d candidates", len(fr.Candidates))
		}
		for _, c := range fr.Candidates {
			if !strings.HasPrefix(c.Candidate, "candidate:") {
				t.Fatalf("candidate %q", c.Candidate)
			}
			// What pion parses is rebuilt from what the policy checked:
			// it must read back as the same candidate.
			if rc, ok := parseCandidate(c.Mid, c.Candidate); ok {
				back, ok := parseCandidate(c.Mid, rc.line)
				if !ok || back.Addr != rc.Addr || back.line != rc.line || back.Priority != rc.Priority {
					t.Fatalf("candidate %q rebuilt as %q reads back as %+v", c.Candidate, rc.line, back)
				}
			}
		}
	})
}

// fuzzEngine is one engine (one loopback UDP socket) per fuzzing process:
// binding a socket per input would measure the kernel, not our code.
type fuzzEngine struct {
	once sync.Once
	e    *Engine
	err  error
}

func (fe *fuzzEngine) get(tb testing.TB) *Engine {
	fe.once.Do(func() { fe.e, fe.err = NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0"}) })
	if fe.err != nil {
		tb.Fatal(fe.err)
	}
	return fe.e
}

// FuzzAnswer drives the whole answer path a POST takes once the offer has
// parsed: codec choice, a real pion PeerConnection, SetRemoteDescription,
// candidate gathering and FinalizeAnswer. Every failure must be one the edge
// maps to a 4xx (ErrUnsupported/ErrMalformed), never a 500 or a panic, and
// every answer must be CRLF SDP that parses.
func FuzzAnswer(f *testing.F) {
	for _, b := range goldenOffers(f) {
		f.Add(b, false)
		f.Add(b, true)
	}
	fe := &fuzzEngine{}
	f.Cleanup(func() {
		if fe.e != nil {
			_ = fe.e.Close()
		}
	})
	h264 := streams.Codec{MimeType: "video/H264", ClockRate: 90000, Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	opus := streams.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}
	f.Fuzz(func(t *testing.T, body []byte, egress bool) {
		// Native fuzzing has no per-input timeout: a hang would only show
		// as a stalled exec counter. Crash instead, so the input is kept.
		watchdog := time.AfterFunc(15*time.Second, func() {
			panic(fmt.Sprintf("answer path hung for 15s on %q", body))
		})
		defer watchdog.Stop()
		offer, err := ParseOffer(body)
		if err != nil {
			return // FuzzParseOffer's business
		}
		role := RoleIngest
		if egress {
			role = RoleEgress
		}
		var chosen []Chosen
		for _, m := range offer.Media {
			if m.Rejected || (m.Kind != "audio" && m.Kind != "video") {
				continue
			}
			var c OfferCodec
			var err error
			switch {
			case !egress:
				c, err = ChooseIngestCodec(m)
			case m.Kind == "video":
				c, err = ChooseEgressCodec(m, h264)
			default:
				c, err = ChooseEgressCodec(m, opus)
			}
			if err != nil {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("codec choice: %v is not ErrUnsupported", err)
				}
				return
			}
			kind := webrtc.RTPCodecTypeVideo
			if m.Kind == "audio" {
				kind = webrtc.RTPCodecTypeAudio
			}
			chosen = append(chosen, Chosen{Kind: kind, Codec: c})
		}
		if len(chosen) == 0 {
			return
		}
		pc, err := fe.get(t).NewPeerConnection(role, offer, chosen)
		if err != nil {
			// Registering two codecs at one payload type and the like: the
			// offer is at fault, but the edge would answer 500.
			t.Fatalf("NewPeerConnection: %v", err)
		}
		defer pc.Close()
		// WHEP adds its sendonly tracks before negotiating; WHIP lets the
		// offer create recvonly transceivers.
		for _, c := range chosen {
			if !egress {
				break
			}
			init := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
			if _, err := pc.AddTransceiverFromKind(c.Kind, init); err != nil {
				t.Fatalf("add transceiver: %v", err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		opts := AnswerOptions{StereoOpusPT: "111"}
		if !egress {
			opts.SimulcastFrom = offer
		}
		answer, err := NewPeer(pc).Negotiate(ctx, offer, opts)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Negotiate: %v is neither ErrUnsupported nor ErrMalformed", err)
			}
			return
		}
		if !strings.HasPrefix(answer, "v=0\r\n") || strings.Contains(strings.ReplaceAll(answer, "\r\n", ""), "\n") {
			t.Fatalf("answer is not CRLF SDP:\n%q", answer)
		}
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(answer); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, answer)
		}
		if !egress {
			checkSimulcastAnswer(t, offer, &sd)
		}
	})
}
