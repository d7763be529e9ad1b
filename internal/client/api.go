package client

import (
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// LoopbackSettingEngine returns the SettingEngine every default client
// uses: host candidates on 127.0.0.1 only, no mDNS, UDP4 unless networks
// says otherwise. Loopback-only keeps tests hermetic (no dependence on the
// machine's interfaces) and makes ICE connect in one round trip.
func LoopbackSettingEngine(networks []webrtc.NetworkType) *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	loopback := net.IPv4(127, 0, 0, 1)
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(loopback) })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(networks) == 0 {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	se.SetNetworkTypes(networks)
	return se
}

// NewAPI builds a webrtc.API whose MediaEngine holds exactly codecs (so an
// offer carries exactly them) plus pion's default interceptors (NACK,
// RTCP reports, TWCC, stats), on LoopbackSettingEngine(networks) further
// adjusted by configure (may be nil).
func NewAPI(codecs []webrtc.RTPCodecParameters, networks []webrtc.NetworkType, configure func(*webrtc.SettingEngine)) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if err := m.RegisterCodec(c, kindOfMime(c.MimeType)); err != nil {
			return nil, err
		}
	}
	// Interceptors register their RTCP feedback / header extensions on the
	// codecs already in the MediaEngine, so they must come after the codecs.
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	se := LoopbackSettingEngine(networks)
	if configure != nil {
		configure(se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(*se)), nil
}
