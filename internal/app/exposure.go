package app

import (
	"net"

	"github.com/wishgate/wishgate/internal/config"
)

// protectSockets names every listening socket of the gateway to the media
// engine, so that no client can make it send ICE checks to its own HTTP,
// RTSP or pprof port (the media sockets it protects itself).
func (a *App) protectSockets(cfg config.Config) {
	addrs := []net.Addr{a.ln.Addr()}
	if a.rtsp != nil {
		addrs = append(addrs, a.rtsp.Addr())
	}
	if a.rtsps != nil {
		addrs = append(addrs, a.rtsps.Addr())
	}
	for _, s := range []string{cfg.RTSPUDPRTPAddr, cfg.RTSPUDPRTCPAddr} {
		if s == "" {
			continue
		}
		if u, err := net.ResolveUDPAddr("udp", s); err == nil {
			addrs = append(addrs, u)
		}
	}
	if p := a.PprofAddr(); p != nil {
		addrs = append(addrs, p)
	}
	a.engine.Protect(addrs...)
}
