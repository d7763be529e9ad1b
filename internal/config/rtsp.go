package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/wishgate/wishgate/bridge"
)

// SourceConfigs returns the declared camera sources, always-on first. Source
// errors are masked by bridge: a camera password never reaches a message.
func (c Config) SourceConfigs() ([]bridge.SourceConfig, error) {
	var out []bridge.SourceConfig
	seen := map[string]string{}
	for _, set := range []struct {
		key      string
		list     []string
		onDemand bool
	}{{"sources", c.Sources, false}, {"sources_on_demand", c.SourcesOnDemand, true}} {
		for _, spec := range set.list {
			sc, err := bridge.ParseSourceSpec(spec)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", paramName(set.key), err)
			}
			if prev, dup := seen[sc.Name]; dup {
				return nil, fmt.Errorf("%s: stream %q is already a source in %s", paramName(set.key), sc.Name, paramName(prev))
			}
			seen[sc.Name] = set.key
			sc.OnDemand = set.onDemand
			out = append(out, sc)
		}
	}
	return out, nil
}

// validateRTSP checks the RTSP server and source settings.
func (c Config) validateRTSP() []error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", paramName(key), fmt.Sprintf(format, args...)))
	}
	if c.RTSPAddr != "" {
		if _, _, err := net.SplitHostPort(c.RTSPAddr); err != nil {
			bad("rtsp_addr", "%q: %v (empty disables RTSP)", c.RTSPAddr, err)
		}
	}
	if (c.RTSPUDPRTPAddr == "") != (c.RTSPUDPRTCPAddr == "") {
		bad("rtsp_udp_rtcp_addr", "set both rtsp_udp_rtp_addr and rtsp_udp_rtcp_addr, or neither (TCP only)")
	} else if c.RTSPUDPRTPAddr != "" {
		rtp, err1 := udpPort(c.RTSPUDPRTPAddr)
		rtcp, err2 := udpPort(c.RTSPUDPRTCPAddr)
		switch {
		case err1 != nil:
			bad("rtsp_udp_rtp_addr", "%q: %v", c.RTSPUDPRTPAddr, err1)
		case err2 != nil:
			bad("rtsp_udp_rtcp_addr", "%q: %v", c.RTSPUDPRTCPAddr, err2)
		case rtp%2 != 0:
			// RFC 3550 §11: RTP on an even port, RTCP on the next one.
			bad("rtsp_udp_rtp_addr", "port %d: must be even (RFC 3550 §11)", rtp)
		case rtcp != rtp+1:
			bad("rtsp_udp_rtcp_addr", "port %d: must be the RTP port + 1 (%d)", rtcp, rtp+1)
		}
	}
	if c.RTSPMulticastRange != "" {
		_, n, err := net.ParseCIDR(c.RTSPMulticastRange)
		switch {
		case err != nil:
			bad("rtsp_multicast_ip_range", "%q: want a CIDR range like 239.10.0.0/16", c.RTSPMulticastRange)
		case n.IP.To4() == nil || !n.IP.IsMulticast():
			bad("rtsp_multicast_ip_range", "%q: not an IPv4 multicast range (224.0.0.0/4; 239.0.0.0/8 is for local use)", c.RTSPMulticastRange)
		case c.RTSPMulticastRTP <= 0 || c.RTSPMulticastRTP > 65534 || c.RTSPMulticastRTP%2 != 0:
			bad("rtsp_multicast_rtp_port", "%d: must be an even port (RFC 3550 §11)", c.RTSPMulticastRTP)
		case c.RTSPMulticastRTCP != c.RTSPMulticastRTP+1:
			bad("rtsp_multicast_rtcp_port", "%d: must be the RTP port + 1 (%d)", c.RTSPMulticastRTCP, c.RTSPMulticastRTP+1)
		}
	}
	if c.RTSPSAddr != "" {
		if _, _, err := net.SplitHostPort(c.RTSPSAddr); err != nil {
			bad("rtsps_addr", "%q: %v (empty disables RTSPS)", c.RTSPSAddr, err)
		}
		if _, err := c.RTSPSTLS(); err != nil {
			bad("rtsps_cert", "%v", err)
		}
	}
	if _, err := c.SourceConfigs(); err != nil {
		errs = append(errs, err)
	}
	if c.SourceCloseDelay < 0 {
		bad("source_close_delay", "%s: must not be negative", c.SourceCloseDelay)
	}
	if c.SourceStallTimeout < 100*time.Millisecond {
		bad("source_stall_timeout", "%s: must be at least 100ms", c.SourceStallTimeout)
	}
	if c.SourceBackoffBase < 10*time.Millisecond {
		bad("source_backoff_base", "%s: must be at least 10ms", c.SourceBackoffBase)
	}
	if c.AudioTranscode != "auto" && c.AudioTranscode != "off" {
		bad("audio_transcode", "%q: must be auto or off", c.AudioTranscode)
	}
	if c.SourceBackoffMax < c.SourceBackoffBase {
		bad("source_backoff_max", "%s: must be at least source_backoff_base (%s)", c.SourceBackoffMax, c.SourceBackoffBase)
	}
	return errs
}

// RTSPSTLS loads the RTSPS certificate; nil when RTSPS is off.
func (c Config) RTSPSTLS() (*tls.Config, error) {
	if c.RTSPSAddr == "" {
		return nil, nil
	}
	if c.RTSPSCert == "" || c.RTSPSKey == "" {
		return nil, fmt.Errorf("rtsps_addr needs both rtsps_cert and rtsps_key")
	}
	cert, err := tls.LoadX509KeyPair(c.RTSPSCert, c.RTSPSKey)
	if err != nil {
		return nil, fmt.Errorf("rtsps_cert %q / rtsps_key %q: %v", c.RTSPSCert, c.RTSPSKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func udpPort(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > 65535 {
		return 0, fmt.Errorf("port %q: want 1-65535", p)
	}
	return n, nil
}
