package network

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// With tls_cert/tls_key the HTTP listener serves HTTPS: the pages, WHIP and
// WHEP work over it (a pion publisher and viewer verifying the certificate
// against the test's CA), plain HTTP is refused, and a renewed certificate
// written over the files is served to the next connection without a restart
// while the running sessions go on.
func TestHTTPS(t *testing.T) {
	ca := testutil.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Issue(t, certFile, keyFile, "wishgate one", time.Now().Add(time.Hour))
	a, logs := start(t, func(c *config.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(a.URL(), "https://") {
		t.Fatalf("URL %s, want https", a.URL())
	}
	if !strings.Contains(logs.String(), `dashboard=`+a.URL()+"/") {
		t.Errorf("start-up log does not give the https dashboard URL:\n%s", logs.String())
	}

	// servedCN dials a fresh connection (HTTP/2 and HTTP/1.1 alike) and
	// returns the certificate's name; the request must succeed.
	servedCN := func(h2 bool, path string) (string, int) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}, ForceAttemptHTTP2: h2, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(a.URL() + path)
		if err != nil {
			t.Fatalf("GET %s over HTTPS: %v", path, err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if h2 && resp.ProtoMajor != 2 {
			t.Errorf("HTTP/%d.%d, want HTTP/2 over TLS", resp.ProtoMajor, resp.ProtoMinor)
		}
		return resp.TLS.PeerCertificates[0].Subject.CommonName, resp.StatusCode
	}
	for _, h2 := range []bool{false, true} {
		if cn, code := servedCN(h2, "/"); cn != "wishgate one" || code != 200 {
			t.Fatalf("dashboard: %d with certificate %q", code, cn)
		}
	}
	// Plain HTTP to the HTTPS port: Go answers 400 and nothing is served.
	plain := strings.Replace(a.URL(), "https://", "http://", 1)
	req, _ := http.NewRequest(http.MethodGet, plain+"/api/v1/streams", nil)
	req.Close = true
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(b), "streams") {
			t.Errorf("plain HTTP to the HTTPS port: %d %q", resp.StatusCode, b)
		}
	}

	// WHIP and WHEP over HTTPS.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	httpc := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	}
	pc, vc := httpc(), httpc()
	defer pc.CloseIdleConnections()
	defer vc.CloseIdleConnections()
	pub, err := client.Publish(ctx, a.URL()+"/whip/tls", client.PublishOptions{Options: client.Options{HTTPClient: pc}})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	sendCtx, stopSend := context.WithCancel(ctx)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		client.PaceSynth(sendCtx, pub, client.NewSynthVideo(client.SynthConfig{GOP: time.Second, Bitrate: 300_000}), nil, nil)
	}()
	defer func() { stopSend(); <-sent }()
	v, err := client.Play(ctx, a.URL()+"/whep/tls", client.PlayOptions{Options: client.Options{HTTPClient: vc, NoAudio: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}

	// Renewal: new files in place; the next handshake presents them.
	ca.Issue(t, certFile, keyFile, "wishgate two", time.Now().Add(2*time.Hour))
	deadline := time.Now().Add(10 * time.Second)
	for {
		cn, _ := servedCN(false, "/healthz")
		if cn == "wishgate two" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving %q 10 s after the certificate files were replaced", cn)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("the reload was not logged")
	}
	// The sessions set up before the renewal still run, and still talk.
	before := v.Received(webrtc.RTPCodecTypeVideo).Packets
	if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, before+30); err != nil {
		t.Fatalf("viewer after the renewal: %v", err)
	}
	if err := v.Close(); err != nil {
		t.Errorf("DELETE over HTTPS after the renewal: %v", err)
	}
}
