package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// A full node that redirects a viewer (307) has already checked the
// viewer's token; clients drop the Authorization header when they follow a
// redirect to another host (net/http, and fetch for a cross-origin one), so
// the Location carries a pass instead: the stream and an expiry, signed
// with the cluster secret. The node it points to admits a WHEP POST for
// that stream with a valid pass and no token.

// passTTL bounds how long a pass admits: long enough to follow a redirect
// (and a second one), short enough to be useless once copied from a log.
const passTTL = 30 * time.Second

// Pass is a signed pass for one WHEP POST of stream, valid for passTTL.
func (n *Node) Pass(stream string) string {
	exp := strconv.FormatInt(time.Now().Add(passTTL).Unix(), 10)
	return exp + "." + n.passMAC(stream, exp)
}

// Admits reports whether pass is a valid, unexpired pass for stream signed
// by a node of this cluster. An expiry further away than passTTL (a clock
// far ahead on the issuing node) is refused too.
func (n *Node) Admits(stream, pass string) bool {
	exp, mac, ok := strings.Cut(pass, ".")
	if !ok || len(exp) > 20 || len(mac) > 64 {
		return false
	}
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return false
	}
	now := time.Now()
	if until := time.Unix(t, 0).Sub(now); until <= 0 || until > passTTL+time.Second {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(n.passMAC(stream, exp)))
}

func (n *Node) passMAC(stream, exp string) string {
	h := hmac.New(sha256.New, []byte(n.cfg.Secret))
	h.Write([]byte("wishgate-redirect-pass\x00"))
	h.Write([]byte(stream))
	h.Write([]byte{0})
	h.Write([]byte(exp))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
