package rtc

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/streams"
)

// maxOfferBody is the default body cap (max_body_bytes): the largest offer
// a stranger can send.
const maxOfferBody = 128 << 10

// worstOffers are offers built to cost the most work within the prescreen's
// limits and the body cap, each starting from Chromium's WHEP offer: every
// attribute budget spent on rtcp-fb lines, as many m-lines as allowed, every
// payload type, the longest lines, the most candidates.
func worstOffers(tb testing.TB) map[string]string {
	base := chromiumWHEP(tb)
	video := base[strings.Index(base, "m=video"):strings.Index(base, "m=audio")]
	videoPTs := strings.Fields(strings.SplitN(video, "\n", 2)[0])[3:]
	fit := func(offer string, extra func(i int) string) string {
		// Add lines after the first a=mid until the body cap is reached.
		var b strings.Builder
		for i := 0; ; i++ {
			l := extra(i)
			if l == "" || len(offer)+b.Len()+len(l)+2 > maxOfferBody {
				break
			}
			b.WriteString(l + "\n")
		}
		return strings.Replace(offer, "a=mid:0\n", "a=mid:0\n"+b.String(), 1)
	}
	attrsOf := func(section string) int { return strings.Count(section, "\na=") }
	// rtcp-fb: 16 per payload type, then the wildcard, until the m-line's
	// attribute budget is spent.
	fbLines := func(room int) func(int) string {
		return func(i int) string {
			if i >= room {
				return ""
			}
			pt := "*"
			if i/11 < len(videoPTs) {
				pt = videoPTs[i/11] // 5 already, 11 more each
			}
			return fmt.Sprintf("a=rtcp-fb:%s x-%d", pt, i)
		}
	}
	out := map[string]string{}
	out["rtcp-fb"] = fit(base, fbLines(maxSectionAttrs-attrsOf(video)))
	// 16 m-lines: copies of the video section, each with its own mid.
	many, bundle := base, "a=group:BUNDLE 0 1"
	for m := 2; m < maxMediaSections; m++ {
		many += strings.Replace(video, "a=mid:0", fmt.Sprintf("a=mid:%d", m), 1)
		bundle += fmt.Sprintf(" %d", m)
	}
	many = strings.Replace(many, "a=group:BUNDLE 0 1", bundle, 1)
	out["m-lines"] = fit(many, fbLines(maxSectionAttrs-attrsOf(video)))
	// Every payload type, each with an rtpmap, an fmtp and rtcp-fb lines.
	all := strings.Replace(base, strings.SplitN(video, "\n", 2)[0], "m=video 9 UDP/TLS/RTP/SAVPF "+strings.Join(videoPTs, " ")+extraPTs(videoPTs), 1)
	out["payload types"] = fit(all, func(i int) string {
		pts := strings.Fields(extraPTs(videoPTs))
		if i >= 3*len(pts) || attrsOf(video)+i >= maxSectionAttrs {
			return ""
		}
		pt := pts[i/3]
		switch i % 3 {
		case 0:
			return "a=rtpmap:" + pt + " H264/90000"
		case 1:
			return "a=fmtp:" + pt + " level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
		}
		return "a=rtcp-fb:" + pt + " nack"
	})
	// The longest lines.
	out["long lines"] = fit(base, func(i int) string { return "a=x-long-" + fmt.Sprint(i) + ":" + strings.Repeat("a", maxLineBytes-20) })
	// The most candidates.
	out["candidates"] = fit(base, func(i int) string {
		if i >= maxOfferCandidates-strings.Count(base, "a=candidate:") {
			return ""
		}
		return fmt.Sprintf("a=candidate:%d 1 udp %d 192.0.2.%d %d typ host", i, 2122260223-i, i%250+1, 10000+i)
	})
	return out
}

// extraPTs are the payload types the video m-line does not use yet.
func extraPTs(used []string) string {
	in := map[string]bool{}
	for _, p := range used {
		in[p] = true
	}
	var b strings.Builder
	for pt := 0; pt < 128; pt++ {
		if s := fmt.Sprint(pt); !in[s] {
			b.WriteString(" " + s)
		}
	}
	return b.String()
}

// answerPath does a WHEP POST's CPU work for one offer: parse, codec
// choice, peer connection, SetRemoteDescription, CreateAnswer. Candidate
// gathering, which waits on the network rather than computing, is left out.
func answerPath(e *Engine, body string) error {
	offer, err := ParseOffer([]byte(body))
	if err != nil {
		return err
	}
	h264 := streams.Codec{MimeType: "video/H264", ClockRate: 90000, Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	c, err := ChooseEgressCodec(offer.Media[0], h264)
	if err != nil {
		return err
	}
	pc, err := e.NewPeerConnection(RoleEgress, offer, []Chosen{{Kind: webrtc.RTPCodecTypeVideo, Codec: c}})
	if err != nil {
		return err
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		return err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return err
	}
	_, err = pc.CreateAnswer(nil)
	return err
}

// cpuTime is the process's user plus system CPU time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// costRatio is the CPU time of worst's answer path over normal's, measured
// in alternating rounds of the same process so that a machine busy with
// other work slows both alike; the smallest ratio of the rounds is kept
// (noise only ever adds time).
func costRatio(tb testing.TB, e *Engine, normal, worst string, rounds, reps int) (ratio float64, perNormal, perWorst time.Duration) {
	measure := func(body string) time.Duration {
		start := cpuTime(tb)
		for range reps {
			_ = answerPath(e, body)
		}
		return (cpuTime(tb) - start) / time.Duration(reps)
	}
	ratio = -1
	for range rounds {
		n, w := measure(normal), measure(worst)
		if r := float64(w) / float64(max(n, time.Microsecond)); ratio < 0 || r < ratio {
			ratio, perNormal, perWorst = r, n, w
		}
	}
	return ratio, perNormal, perWorst
}

// maxCostRatio bounds the worst offer's answer path against Chromium's
// ordinary one. On the reference machine (docs/security.md) the ordinary
// offer costs about 0.7 ms of CPU, so 20 times that is within the 20 ms
// the worst offer may cost; before the prescreen, the rtcp-fb bomb alone
// cost some 2000 times as much.
const maxCostRatio = 20

// TestWorstOfferCost: no offer within the limits and the body cap costs
// more than maxCostRatio times an ordinary one.
func TestWorstOfferCost(t *testing.T) {
	if testing.Short() {
		t.Skip("measures CPU")
	}
	e := newTestEngine(t, EngineConfig{})
	normal := chromiumWHEP(t)
	if err := answerPath(e, normal); err != nil {
		t.Fatal(err)
	}
	for name, worst := range worstOffers(t) {
		t.Run(name, func(t *testing.T) {
			if len(worst) > maxOfferBody {
				t.Fatalf("%d bytes: over the body cap", len(worst))
			}
			err := answerPath(e, worst)
			ratio, n, w := costRatio(t, e, normal, worst, 5, 10)
			t.Logf("%d bytes (%v): %v of CPU, %.1f times the ordinary offer's %v", len(worst), err, w, ratio, n)
			if ratio > maxCostRatio {
				t.Errorf("costs %.1f times an ordinary offer, more than %d", ratio, maxCostRatio)
			}
		})
	}
}

// BenchmarkAnswerPath gives the figures docs/security.md quotes.
func BenchmarkAnswerPath(b *testing.B) {
	e, err := NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	offers := worstOffers(b)
	offers["ordinary"] = chromiumWHEP(b)
	for name, body := range offers {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				_ = answerPath(e, body)
			}
		})
	}
}
