package hostile

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// FuzzGatewayNever500: whatever a client sends to the WHIP/WHEP edge of the
// real gateway (real pion peers, a live stream, a live viewer session it
// may address), the answer is never a 500. Everything is a 2xx or a 4xx,
// or a 503 with Retry-After (the gateway too busy or a negotiation out of
// time, never the client's fault). `go test` replays the seeds — every
// recorded client offer, the bombs and the malformed offers of this suite —
// and `make fuzz` mutates them.
func FuzzGatewayNever500(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "sdp", "*.sdp"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden offers: %v", err)
	}
	for i, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(0), "application/sdp", b) // WHEP
		f.Add(uint8(1), "application/sdp", b) // WHIP
		s := string(b)
		for _, mutant := range []string{
			strings.Replace(s, "a=mid:1", "a=mid:0", 1),
			strings.Replace(s, "/90000", "/0", 1),
			strings.Replace(s, "a=fingerprint:sha-256 ", "a=fingerprint:sha-3 ", 1),
			withRTCPFB(s),
		} {
			if mutant != s {
				f.Add(uint8(i), "application/sdp", []byte(mutant))
			}
		}
	}
	frag := "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
	f.Add(uint8(2), "application/trickle-ice-sdpfrag", []byte(frag))
	f.Add(uint8(2), "application/trickle-ice-sdpfrag", fragment(loopbackCandidates(0, 40)))
	f.Add(uint8(2), "application/trickle-ice-sdpfrag", fragment([]string{hostCandidate(1, "224.0.0.251", 5353)}))
	f.Add(uint8(3), "text/plain", []byte("v=0"))

	testutil.RequireIsolation(f, isolatedEnv)
	gw := testutil.StartGatewayLog(f, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, gw.URL()+"/whip/live", client.PublishOptions{})
	if err == nil {
		err = pub.WaitConnected(ctx)
	}
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = pub.Close() })
	tr := &http.Transport{DisableKeepAlives: true}
	f.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// A viewer session the fuzzer may PATCH.
	req, _ := http.NewRequest("POST", gw.URL()+"/whep/live", bytes.NewReader(golden(f, "chromium-156-whep.sdp")))
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		f.Fatalf("viewer session: %v %v", resp, err)
	}
	resp.Body.Close()
	session := resp.Header.Get("Location")

	f.Fuzz(func(t *testing.T, sel uint8, ctype string, body []byte) {
		method, path := "POST", "/whep/live"
		switch sel % 4 {
		case 1:
			path = "/whip/fuzz"
		case 2:
			method, path = "PATCH", session
		case 3:
			path = "/whip/live" // a publisher is live: 409 unless replaced
		}
		if strings.ContainsFunc(ctype, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return // not a header value any HTTP client sends (net/http refuses it)
		}
		req, err := http.NewRequest(method, gw.URL()+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", ctype)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusCreated && loc != "" {
			del, _ := http.NewRequest("DELETE", gw.URL()+loc, nil)
			if r, err := hc.Do(del); err == nil {
				r.Body.Close()
			}
		}
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "":
			t.Fatalf("%s %s: 503 without Retry-After: %s", method, path, b)
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable:
			t.Fatalf("%s %s (%d bytes of %q): %d %s", method, path, len(body), ctype, resp.StatusCode, b)
		}
	})
}

// withRTCPFB adds 600 a=rtcp-fb lines after the first a=mid.
func withRTCPFB(offer string) string {
	i := strings.Index(offer, "a=mid:")
	if i < 0 {
		return offer
	}
	j := i + strings.IndexByte(offer[i:], '\n') + 1
	return offer[:j] + strings.Repeat("a=rtcp-fb:* nack\r\n", 600) + offer[j:]
}
