package connlimit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"
)

// A server that speaks TLS above the limiter (net/http must see its own
// *tls.Conn) still answers a refused client in TLS, through Wrap.
func TestRefusalThroughWrap(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srvTLS := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	refusal := "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
	s := serve(t, Config{MaxConns: 1, Refusal: []byte(refusal), Wrap: func(c net.Conn) net.Conn { return tls.Server(c, srvTLS) }})
	dial(t, s)
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 1 })

	c, err := tls.Dial("tcp", s.l.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a throw-away certificate
	if err != nil {
		t.Fatalf("TLS handshake with the refusing listener: %v", err)
	}
	defer c.Close()
	if got := readAll(t, c); got != refusal {
		t.Fatalf("refused TLS connection read %q", got)
	}
}
