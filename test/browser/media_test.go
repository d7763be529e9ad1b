package browser

import (
	"testing"
	"time"
)

// mediaStats is what the player's RTCPeerConnection reports, read in the page.
type mediaStats struct {
	VideoWidth    int     `json:"videoWidth"`
	FramesDecoded float64 `json:"framesDecoded"`
	AudioPackets  float64 `json:"audioPackets"`
	StereoOffer   bool    `json:"stereoOffer"`
	State         string  `json:"state"`
}

const readStats = `(async () => {
  const p = window.wishgate && window.wishgate.player;
  const out = { videoWidth: document.querySelector("video").videoWidth, framesDecoded: 0, audioPackets: 0,
                stereoOffer: false, state: p ? p.state : "" };
  if (!p || !p.pc) return out;
  const r = await p.pc.getStats();
  r.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") out.framesDecoded = s.framesDecoded || 0;
    if (s.kind === "audio") out.audioPackets = s.packetsReceived || 0;
  });
  out.stereoOffer = !!p.pc.localDescription && /a=fmtp:\d+ .*stereo=1/.test(p.pc.localDescription.sdp);
  return out;
})()`

func stats(t *testing.T, tb *tab) mediaStats {
	t.Helper()
	s, err := eval[mediaStats](tb, readStats)
	if err != nil {
		t.Fatalf("%s: read stats: %v", tb.name, err)
	}
	return s
}

// waitGrowth polls until framesDecoded (and, if audio, audio packets) grew
// by at least min over the start value: the picture is moving, not frozen.
func waitGrowth(t *testing.T, tb *tab, audio bool, min float64, timeout time.Duration) (before, after mediaStats) {
	t.Helper()
	before = stats(t, tb)
	deadline := time.Now().Add(timeout)
	for {
		after = stats(t, tb)
		if after.FramesDecoded-before.FramesDecoded >= min && (!audio || after.AudioPackets-before.AudioPackets >= min) {
			return before, after
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: media did not flow within %v: before %+v, after %+v", tb.name, timeout, before, after)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
