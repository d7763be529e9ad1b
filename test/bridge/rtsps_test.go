package bridge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a
// pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wishgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestRTSPS reads a camera stream over RTSP over TLS, with certificate
// verification against the test's own CA.
func TestRTSPS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	g := startGateway(t, func(c *config.Config) {
		c.RTSPSAddr, c.RTSPSCert, c.RTSPSKey = "127.0.0.1:0", certFile, keyFile
		c.ReadTokens = []string{"readtok"}
	})
	cam := newCamera(t, camSpec{video: "h264", audio: "opus"})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "secure", URL: cam.url("s")}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "secure")

	u, err := base.ParseURL("rtsps://" + g.RTSPSAddr().String() + "/secure?token=readtok")
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp,
		TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatalf("RTSPS DESCRIBE: %v", err)
	}
	if len(desc.Medias) != 2 {
		t.Fatalf("%d medias, want video and audio", len(desc.Medias))
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 1)
	n := 0
	c.OnPacketRTPAny(func(_ *description.Media, f format.Format, _ *rtp.Packet) {
		if _, ok := f.(*format.H264); ok {
			n++
			if n == 50 {
				got <- struct{}{}
			}
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no H.264 over RTSPS")
	}
}

// TestRTSPSCameraFingerprint pulls an rtsps:// camera with a self-signed
// certificate, trusted by its pinned SHA-256 fingerprint; without the pin
// the certificate is refused and the source keeps retrying.
func TestRTSPSCameraFingerprint(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	fp := hex.EncodeToString(sum[:])
	cam := newCamera(t, camSpec{video: "h264", tls: &tls.Config{Certificates: []tls.Certificate{cert}}})
	cam.Start()
	base := "rtsps://user:camsecret@" + cam.addr + "/x#transport=tcp"
	g := startGateway(t, func(c *config.Config) {
		c.Sources = []string{"pinned=" + base + "&fingerprint=" + fp, "unpinned=" + base}
	})
	waitLive(t, g, "pinned")
	v, rec := play(t, g, "pinned", client.PlayOptions{})
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	checkWebRTCVideo(t, rec.snapshot())
	waitFor(t, 5*time.Second, "unpinned source refusing the certificate", func() bool {
		st, _ := g.Sources().Get("unpinned")
		return st.State == bridge.StateRetrying && strings.Contains(st.LastError, "certificate")
	})
	for _, st := range g.Sources().List() {
		if strings.Contains(st.URL+st.LastError, "camsecret") {
			t.Errorf("status of %s shows the camera password: %+v", st.Name, st)
		}
	}
	if strings.Contains(g.log.String(), "camsecret") {
		t.Error("the log shows the camera password")
	}
}
