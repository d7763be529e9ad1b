package main

import (
	"strconv"
	"testing"

	"github.com/wishgate/wishgate/internal/testutil"
)

// loopbackArgs puts every listener of the gateway on an ephemeral loopback
// port (the RTSP UDP pair on a free one).
func loopbackArgs(t *testing.T) []string {
	udp := testutil.FreeUDPPair(t)
	return []string{"--http-addr", "127.0.0.1:0", "--udp-addr", "127.0.0.1:0", "--tcp-addr", "127.0.0.1:0",
		"--rtsp-addr", "127.0.0.1:0", "--rtsp-udp-rtp-addr", "127.0.0.1:" + strconv.Itoa(udp),
		"--rtsp-udp-rtcp-addr", "127.0.0.1:" + strconv.Itoa(udp+1)}
}
