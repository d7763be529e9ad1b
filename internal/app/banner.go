package app

import (
	"log/slog"
	"net"
)

// logListening is the start-up line: where the pages are and every socket
// the gateway listens on, marked where it binds all interfaces (the
// defaults for HTTP, ICE-TCP and RTSP), so an operator sees at once what a
// firewall must open and what the network can reach.
func (a *App) logListening(log *slog.Logger) {
	base := a.URL()
	attrs := []any{
		"dashboard", base + "/",
		"player", base + "/watch/{name}",
		"publisher", base + "/publish/{name}",
		"whip", base + "/whip/{name}",
		"whep", base + "/whep/{name}",
		"http", where(a.ln.Addr()),
		"webrtc_udp", where(a.engine.UDPAddr()),
		"webrtc_tcp", whereOrOff(a.engine.TCPAddr()),
	}
	rtsp, rtspUDP, rtsps := "off", "off", "off"
	if a.rtsp != nil {
		rtsp = where(a.rtsp.Addr())
		if u := a.rtsp.UDPAddrs(); len(u) == 2 {
			rtspUDP = where(u[0]) + " " + where(u[1])
		}
	}
	if a.rtsps != nil {
		rtsps = where(a.rtsps.Addr())
	}
	attrs = append(attrs, "rtsp", rtsp, "rtsp_udp", rtspUDP, "rtsps", rtsps)
	if p := a.PprofAddr(); p != nil {
		attrs = append(attrs, "pprof", where(p))
	}
	log.Info("wishgate listening", attrs...)
}

// where is a listening address, "(all interfaces)" added when it is one.
func where(addr net.Addr) string {
	s := addr.String()
	host, _, err := net.SplitHostPort(s)
	if ip := net.ParseIP(host); err == nil && (host == "" || ip != nil && ip.IsUnspecified()) {
		s += " (all interfaces)"
	}
	return s
}

func whereOrOff(addr *net.TCPAddr) string {
	if addr == nil {
		return "off"
	}
	return where(addr)
}
