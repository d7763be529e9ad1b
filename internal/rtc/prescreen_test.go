package rtc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func chromiumWHEP(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", "chromium-156-whep.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// afterMid puts lines after the first m-section's a=mid.
func afterMid(offer string, lines ...string) string {
	return strings.Replace(offer, "a=mid:0\n", "a=mid:0\n"+strings.Join(lines, "\n")+"\n", 1)
}

func repeat(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestOfferLimits(t *testing.T) {
	base := chromiumWHEP(t)
	if _, err := ParseOffer([]byte(base)); err != nil {
		t.Fatal(err)
	}
	video := strings.SplitN(base[strings.Index(base, "m=video"):], "\n", 2)[0]
	cases := []struct {
		name, offer, want string
		class             error
	}{
		{"rtcp-fb per payload type", afterMid(base, repeat(17, func(i int) string { return fmt.Sprintf("a=rtcp-fb:96 x-%d", i) })...),
			`more than 16 a=rtcp-fb lines for payload type "96"`, ErrMalformed},
		{"wildcard rtcp-fb", afterMid(base, repeat(17, func(int) string { return "a=rtcp-fb:* nack" })...),
			`payload type "*"`, ErrMalformed},
		{"attributes per m-line", afterMid(base, repeat(400, func(i int) string { return fmt.Sprintf("a=x-%d", i) })...),
			"m-line 0 has more than 512 attribute lines", ErrMalformed},
		{"session attributes", strings.Replace(base, "t=0 0\n", "t=0 0\n"+strings.Repeat("a=x\n", 513), 1),
			"the session level has more than 512", ErrMalformed},
		{"payload types", strings.Replace(base, video, video+strings.Repeat(" 1", 100), 1),
			"payload types; at most 128", ErrMalformed},
		{"duplicate payload type", strings.Replace(base, video, video+" 96", 1), "lists payload type 96 twice", ErrMalformed},
		{"line length", afterMid(base, "a=x-long:"+strings.Repeat("a", 4100)), "longer than 4096 bytes", ErrMalformed},
		{"m-lines", base + strings.Repeat("m=audio 0 UDP/TLS/RTP/SAVPF 0\n", 15), "more than 16 m-lines", ErrMalformed},
		{"candidates", afterMid(base, repeat(129, func(i int) string {
			return fmt.Sprintf("a=candidate:%d 1 udp 1 192.0.2.%d %d typ host", i, i%250, 1000+i)
		})...), "more than 128 candidates", ErrMalformed},
		{"rtpmap clock rate 0", strings.Replace(base, "a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP8/0", 1), "clock rate \"0\"", ErrMalformed},
		{"rtpmap without clock rate", strings.Replace(base, "a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP8", 1), "a=rtpmap:96", ErrMalformed},
		{"two rtpmaps", afterMid(base, "a=rtpmap:96 H264/90000"), "two a=rtpmap lines for payload type 96", ErrMalformed},
		{"fingerprint hash", strings.Replace(base, "a=fingerprint:sha-256 ", "a=fingerprint:md5 ", 1), `hash function "md5"`, ErrMalformed},
		{"fingerprint garbage", regexpFingerprint(base, "sha-256 zz"), "32 hex pairs", ErrMalformed},
		{"fingerprint length", regexpFingerprint(base, "sha-1 AB:CD"), "20 hex pairs", ErrMalformed},
		{"duplicate mid", strings.Replace(base, "a=mid:1", "a=mid:0", 1), `m-lines 0 and 1 have the same mid "0"`, ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOffer([]byte(tc.offer))
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v containing %q", err, tc.class, tc.want)
			}
		})
	}
	// At the limits, an offer passes.
	ok := afterMid(base, repeat(16-5, func(i int) string { return fmt.Sprintf("a=rtcp-fb:96 x-%d", i) })...)
	ok = strings.Replace(ok, "a=fingerprint:sha-256 ", "a=fingerprint:SHA-256 ", 1)
	if _, err := ParseOffer([]byte(ok)); err != nil {
		t.Fatalf("an offer at the rtcp-fb limit: %v", err)
	}
}

// regexpFingerprint replaces the value of the first a=fingerprint line.
func regexpFingerprint(offer, value string) string {
	i := strings.Index(offer, "a=fingerprint:")
	j := strings.IndexByte(offer[i:], '\n')
	return offer[:i] + "a=fingerprint:" + value + offer[i+j:]
}
