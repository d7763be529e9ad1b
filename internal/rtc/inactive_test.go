package rtc

import (
	"strings"
	"testing"
)

// pion's answer when the transceiver for the first m-line (the offerer's
// BUNDLE tag) has no track: port 0, no mid, candidates in that section.
const rejectedFirst = "v=0\r\n" +
	"o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
	"a=fingerprint:sha-256 00:11\r\n" +
	"a=group:BUNDLE 1\r\n" +
	"m=video 0 UDP/TLS/RTP/SAVPF 0\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=candidate:1 1 udp 2130706431 192.0.2.1 8189 typ host\r\n" +
	"a=candidate:1 2 udp 2130706430 192.0.2.1 8189 typ host\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=setup:passive\r\na=mid:1\r\na=ice-ufrag:uf\r\na=ice-pwd:pw\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=sendonly\r\n"

func TestBundleInactive(t *testing.T) {
	offer := &Offer{Media: []OfferMedia{
		{Index: 0, Kind: "video", Mid: "0", Direction: "recvonly", Codecs: []OfferCodec{{PayloadType: 96, MimeType: "video/VP8", ClockRate: 90000}}},
		{Index: 1, Kind: "audio", Mid: "1", Direction: "recvonly", Codecs: []OfferCodec{{PayloadType: 111, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}},
	}}
	got := FinalizeAnswer(rejectedFirst, AnswerOptions{Direction: "sendonly", Offer: offer})
	want := "a=group:BUNDLE 0 1\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"a=setup:passive\r\na=ice-ufrag:uf\r\na=ice-pwd:pw\r\n" +
		"a=mid:0\r\na=rtcp-mux\r\na=rtcp-mux-only\r\n" +
		"a=rtpmap:96 VP8/90000\r\n" +
		"a=inactive\r\n" +
		"a=candidate:1 1 udp 2130706431 192.0.2.1 8189 typ host\r\n" +
		"a=end-of-candidates\r\n" +
		"m=audio 9 "
	if !strings.Contains(got, want) {
		t.Errorf("answer:\n%s\nwant it to contain:\n%s", got, want)
	}
	if strings.Count(got, "a=candidate:") != 1 || !strings.Contains(got, "a=sendonly\r\n") {
		t.Errorf("candidates or audio direction wrong:\n%s", got)
	}

	// Without the offer (WHIP), a rejected section stays rejected.
	if plain := FinalizeAnswer(rejectedFirst, AnswerOptions{}); !strings.Contains(plain, "m=video 0 ") {
		t.Errorf("rewritten without an offer:\n%s", plain)
	}
}
