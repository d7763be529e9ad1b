package bridge

import (
	"crypto/rand"
	"encoding/hex"
)

// newSessionID is the public id of an RTSP publisher, reader or camera
// pull, under which the control API lists and kicks it (like the WHIP/WHEP
// session ids; it grants nothing by itself).
func newSessionID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails on supported platforms (Go 1.24+ panics instead)
	return hex.EncodeToString(b)
}
