package testutil

import "github.com/wishgate/wishgate/internal/config"

// LoopbackConfig is config.Default with every listener on 127.0.0.1 and an
// ephemeral port, so tests run side by side and never leave the machine.
// RTSP over UDP is off: its RTP/RTCP ports must be a fixed consecutive pair;
// a test that needs it picks a pair itself.
func LoopbackConfig() config.Config {
	c := config.Default()
	c.HTTPAddr = "127.0.0.1:0"
	c.UDPAddr = "127.0.0.1:0"
	c.TCPAddr = "127.0.0.1:0"
	c.RTSPAddr = "127.0.0.1:0"
	c.RTSPUDPRTPAddr = ""
	c.RTSPUDPRTCPAddr = ""
	return c
}
