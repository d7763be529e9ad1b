package whep

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// The WHEP core extensions on a viewer's session (internal/signaling/ext.go
// serves them): choosing the video layer, and events about the stream.

// videoMedia is the viewer's video m-line and the stream track it gets.
type videoMedia struct {
	track int    // stream track index; -1 without video
	index int    // m-line index in the viewer's offer
	mid   string // its mid
}

func findVideo(matches []match) videoMedia {
	for _, m := range matches {
		if m.track.Kind == streams.KindVideo {
			return videoMedia{track: m.track.Index, index: m.media.Index, mid: m.media.Mid}
		}
	}
	return videoMedia{track: -1}
}

// Layered implements signaling.LayerSelector.
func (s *session) Layered() bool {
	return s.video.track >= 0 && s.sub.Layers(s.video.track) != nil
}

// SelectLayer implements signaling.LayerSelector: a rid (or low, medium,
// high, auto) for that layer, none for the automatic choice; maxWidth and
// maxHeight bound either.
func (s *session) SelectLayer(req signaling.LayerRequest) error {
	v := s.video
	if v.track < 0 {
		return fmt.Errorf("%w: the session has no video", signaling.ErrLayerUnsupported)
	}
	if req.MediaID != "" && req.MediaID != strconv.Itoa(v.index) && req.MediaID != v.mid {
		return fmt.Errorf("%w: mediaId %q is not the video m-line (index %d, mid %q)", signaling.ErrLayerUnsupported, req.MediaID, v.index, v.mid)
	}
	c := streams.LayerChoice{Mode: streams.LayerAuto}
	if req.RID != "" {
		var err error
		if c, err = streams.ParseLayerChoice(req.RID); err != nil {
			return err
		}
	}
	c.MaxWidth, c.MaxHeight = req.MaxWidth, req.MaxHeight
	if a := s.adapt; a != nil && c.Mode != streams.LayerAuto {
		a.set(s, false)
	}
	if err := s.sub.SetLayer(v.track, c); err != nil {
		return err
	}
	if a := s.adapt; a != nil && c.Mode == streams.LayerAuto {
		a.set(s, true)
	}
	s.log.Info("layer chosen over the layer extension", "choice", c.String(), "max_width", c.MaxWidth, "max_height", c.MaxHeight)
	return nil
}

// EventTypes implements signaling.EventSource.
func (s *session) EventTypes() []string {
	types := []string{"active", "inactive", "viewercount"}
	if s.Layered() {
		types = append(types, "layers")
	}
	return types
}

// layerJSON is one layer in the layers event: the draft's fields (rid,
// width, height, bitrate: 0 for a layer not being published), Broadcast
// Box's encodingId (the rid again), and active: the layer this viewer gets.
type layerJSON struct {
	RID        string `json:"rid"`
	EncodingID string `json:"encodingId"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	Bitrate    int64  `json:"bitrate"`
	Active     bool   `json:"active"`
}

// Events implements signaling.EventSource.
func (s *session) Events() []signaling.Event {
	var out []signaling.Event
	info, ok := s.h.Registry.Info(s.req.Stream)
	if ok && info.State == streams.StateLive {
		out = append(out, signaling.Event{Type: "active", Group: "publication", Key: "active", Data: []byte("{}")})
	} else {
		out = append(out, signaling.Event{Type: "inactive", Group: "publication", Key: "inactive", Data: []byte("{}")})
	}
	n, _ := json.Marshal(map[string]int{"viewercount": len(info.Subscribers)})
	out = append(out, signaling.Event{Type: "viewercount", Group: "viewercount", Key: string(n), Data: n})
	if !s.Layered() {
		return out
	}
	cur, _ := s.sub.Layer(s.video.track)
	var layers []layerJSON
	var key strings.Builder
	for _, l := range s.sub.Layers(s.video.track) {
		lj := layerJSON{RID: l.RID, EncodingID: l.RID, Width: l.Width, Height: l.Height, Active: l.RID == cur.RID}
		if l.Active {
			lj.Bitrate = int64(l.BitrateBps)
		}
		layers = append(layers, lj)
		fmt.Fprintf(&key, "%s %dx%d %v %v;", l.RID, l.Width, l.Height, l.Active, lj.Active)
	}
	data, _ := json.Marshal(map[string][]layerJSON{strconv.Itoa(s.video.index): layers})
	return append(out, signaling.Event{Type: "layers", Group: "layers", Key: key.String(), Data: data})
}
