package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/streams"
)

// One camera session of a source (source.go): the RTSP client that
// connects, describes, publishes and plays (pull), the watch that follows
// it until it fails, stalls or goes idle, and the certificate pin for
// rtsps:// cameras. The state, demand and reconnect loop are in source.go.

func (s *source) clientTransport() *gortsplib.Transport {
	var t gortsplib.Transport
	switch s.cfg.transport() {
	case TransportUDP:
		t = gortsplib.TransportUDP
	case TransportTCP:
		t = gortsplib.TransportTCP
	case TransportMulticast:
		t = gortsplib.TransportUDPMulticast
	default:
		return nil // gortsplib tries UDP, then TCP when no UDP packet arrives
	}
	return &t
}

// pull runs one camera session: connect, describe, publish, play until it
// fails, is kicked, the source is removed or (on demand) nobody reads.
// *pub is the publication kept across sessions so that viewers stay attached
// through an outage; a new session replaces it with the same tracks, which
// the registry turns into one continuous RTP stream for them.
func (s *source) pull(pub **streams.Publication) (played bool, err error) {
	raw, _ := s.parent.cfg.Self.pullURL(s.cfg.URL)
	u, err := base.ParseURL(raw)
	if err != nil {
		return false, errors.New("URL does not parse")
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	c := &gortsplib.Client{
		Scheme:                u.Scheme,
		Host:                  u.Host,
		Transport:             s.clientTransport(),
		ReadTimeout:           s.parent.cfg.ReadTimeout,
		InitialUDPReadTimeout: s.parent.cfg.UDPFallbackTimeout,
		OnTransportSwitch: func(err error) {
			s.log.Warn("camera transport switched from UDP to TCP", "reason", redact(err.Error(), s.secrets...))
		},
		// Loss is in the client's statistics; not a log line per gap.
		OnPacketsLost: func(uint64) {},
	}
	var decode decodeErrors
	var in *ingest // set below, before PLAY
	c.OnDecodeError = func(err error) {
		if decode.count(in, c.Stats().Session.Medias) {
			s.log.Info("camera sent packets that cannot be decoded (counted, logged once per connection)",
				"error", redact(err.Error(), s.secrets...))
		}
	}
	if s.cfg.Fingerprint != "" {
		c.TLSConfig = pinnedTLS(s.cfg.Fingerprint)
	}
	if err := c.Start2(); err != nil {
		return false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()

	desc, _, err := c.Describe(u)
	if err != nil {
		return false, err
	}
	if in, err = newIngest(desc, s.log, s.parent.cfg.Registry.ConversionTarget); err != nil {
		return false, err
	}
	var medias []*description.Media
	for _, t := range in.tracks {
		medias = append(medias, t.media)
	}
	if err := c.SetupAll(desc.BaseURL, medias); err != nil {
		return false, err
	}

	kicked := make(chan error, 1)
	p := &rtspPublisher{kick: func(reason error) {
		select {
		case kicked <- reason:
		default:
		}
		cancel()
	}}
	p.connected.Store(true)
	defer p.connected.Store(false)
	if *pub != nil {
		(*pub).Close()
		*pub = nil
	}
	np, err := s.parent.cfg.Registry.Publish(s.cfg.Name, in.specs, p,
		streams.PublisherInfo{Kind: streams.SessionRTSPSource, SessionID: newSessionID(), RemoteAddr: u.Host})
	if err != nil {
		return false, err
	}
	*pub = np
	in.pub = np
	s.mu.Lock()
	s.notes, s.in = in.notes, in
	s.mu.Unlock()
	in.logNotes(s.log)
	c.OnPacketRTPAny(func(_ *description.Media, f format.Format, pkt *rtp.Packet) { in.handle(f, pkt) })
	if _, err := c.Play(nil); err != nil {
		return false, err
	}
	return s.watch(c, in, kicked, pub)
}

// watch follows a playing session until it ends. The source is "playing"
// from the first packet, not from PLAY: live means media flows. A camera
// that falls silent for the stall timeout is closed and reconnected, so
// that its state follows it within seconds rather than the RTSP read
// timeout. played reports whether any media arrived.
func (s *source) watch(c *gortsplib.Client, in *ingest, kicked <-chan error, pub **streams.Publication) (played bool, err error) {
	waitErr := make(chan error, 1)
	go func() { waitErr <- c.Wait() }()
	idle := time.NewTicker(s.parent.idleCheckPeriod())
	defer idle.Stop()
	stall := s.parent.cfg.StallTimeout
	// Fine enough to report the first packet at once: on-demand readers
	// wait for it (demand).
	watchdog := time.NewTicker(min(max(stall/8, 10*time.Millisecond), 50*time.Millisecond))
	defer watchdog.Stop()
	for {
		select {
		case err := <-waitErr:
			select {
			case reason := <-kicked:
				*pub = nil
				s.setLive(false)
				return played, fmt.Errorf("publisher ended by the registry: %w", reason)
			default:
			}
			if err == nil {
				err = errors.New("camera closed the session")
			}
			return played, err
		case <-watchdog.C:
			last := in.lastPacket.Load()
			switch {
			case last == 0: // nothing yet: gortsplib's read timeouts apply
			case !played:
				played = true
				s.setLive(true)
				s.setState(StatePlaying, nil)
			case time.Since(time.Unix(0, last)) > stall:
				c.Close()
				<-waitErr
				return true, fmt.Errorf("no media from the camera for %s", stall)
			}
		case <-idle.C:
			if s.idle() {
				c.Close()
				<-waitErr
				return played, errIdle
			}
		}
	}
}

// pinnedTLS trusts exactly the certificate with the given SHA-256
// fingerprint: cameras serve self-signed certificates no CA vouches for.
func pinnedTLS(fingerprint string) *tls.Config {
	want := normFingerprint(fingerprint)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Chain verification is replaced by the pin below, not skipped.
		InsecureSkipVerify: true, //nolint:gosec
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("camera sent no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if got := hex.EncodeToString(sum[:]); got != want {
				return fmt.Errorf("camera certificate fingerprint %s does not match the configured one", got)
			}
			return nil
		},
	}
}
