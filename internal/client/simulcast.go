package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// simulcast is a publisher's video track sent as several layers: one pion
// track per rid on one sender (RTPSender.AddEncoding), which offers
// a=rid/a=simulcast (RFC 8853). pion does not stamp the mid and rid header
// extensions on what it sends; WriteLayer does, with the ids the answer
// kept, as RFC 8852 requires of a sender without a=ssrc lines.
type simulcast struct {
	rids   []string
	layers []*webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	mid    string
	midID  uint8
	ridID  uint8
}

func (s *simulcast) add(pc *webrtc.PeerConnection, c webrtc.RTPCodecCapability, streamID string, rids []string) (*webrtc.RTPSender, error) {
	for _, rid := range rids {
		t, err := webrtc.NewTrackLocalStaticRTP(c, "video", streamID, webrtc.WithRTPStreamID(rid))
		if err != nil {
			return nil, err
		}
		s.layers = append(s.layers, t)
	}
	snd, err := pc.AddTrack(s.layers[0])
	if err != nil {
		return nil, fmt.Errorf("client: add simulcast track: %w", err)
	}
	for _, t := range s.layers[1:] {
		if err := snd.AddEncoding(t); err != nil {
			return nil, fmt.Errorf("client: add simulcast layer %s: %w", t.RID(), err)
		}
	}
	s.rids, s.sender = append([]string(nil), rids...), snd
	return snd, nil
}

// negotiated reads the video m-section's mid and the ids of the mid and
// rid header extensions from the answer.
func (s *simulcast) negotiated(answer string) error {
	if s.sender == nil {
		return nil
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return fmt.Errorf("client: answer: %w", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" || md.MediaName.Port.Value == 0 {
			continue
		}
		s.mid, _ = md.Attribute("mid")
		for _, a := range md.Attributes {
			if a.Key != "extmap" {
				continue
			}
			id, uri, _ := strings.Cut(a.Value, " ")
			id, _, _ = strings.Cut(id, "/")
			n, err := strconv.ParseUint(id, 10, 8)
			if err != nil {
				continue
			}
			switch strings.TrimSpace(uri) {
			case sdp.SDESMidURI:
				s.midID = uint8(n)
			case sdp.SDESRTPStreamIDURI:
				s.ridID = uint8(n)
			}
		}
		if s.midID == 0 || s.ridID == 0 {
			return errors.New("client: the answer kept no mid or rid header extension: the gateway cannot tell simulcast layers apart")
		}
		return nil
	}
	return errors.New("client: the answer has no video m-section for the simulcast track")
}

// WriteLayer sends pkt on simulcast layer j (an index into
// PublishOptions.Simulcast), stamping the mid and rid header extensions.
// The packet's header extensions are changed. Safe for concurrent use
// across layers.
func (p *Publisher) WriteLayer(j int, pkt *rtp.Packet) error {
	s := &p.sim
	if j < 0 || j >= len(s.layers) {
		return ErrNoTrack
	}
	if err := pkt.Header.SetExtension(s.midID, []byte(s.mid)); err != nil {
		return err
	}
	if err := pkt.Header.SetExtension(s.ridID, []byte(s.rids[j])); err != nil {
		return err
	}
	if err := s.layers[j].WriteRTP(pkt); err != nil {
		return err
	}
	p.sent.add(webrtc.RTPCodecTypeVideo, len(pkt.Payload))
	return nil
}

// LayerSSRC returns the SSRC pion sends simulcast layer j with (0 before
// the connection is up): keyframe requests name it.
func (p *Publisher) LayerSSRC(j int) uint32 {
	s := &p.sim
	if s.sender == nil || j < 0 || j >= len(s.rids) {
		return 0
	}
	for _, e := range s.sender.GetParameters().Encodings {
		if e.RID == s.rids[j] {
			return uint32(e.SSRC)
		}
	}
	return 0
}
