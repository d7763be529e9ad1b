package streams

import (
	"fmt"
	"strings"
)

// LayerMode says which layer of a simulcast track a subscriber receives.
type LayerMode uint8

const (
	// LayerHigh: the best active layer. The zero value, so that readers
	// that know nothing of layers (RTSP, a relay to another node) get the
	// best picture.
	LayerHigh LayerMode = iota
	// LayerAuto: the layer an adapter picks from the reader's network
	// (Subscription.SetAutoLayer); the best one until it has picked.
	LayerAuto
	// LayerMedium: the middle of the active layers (the lower of the two
	// middle ones).
	LayerMedium
	// LayerLow: the lowest active layer.
	LayerLow
	// LayerRID: the layer of LayerChoice.RID.
	LayerRID
)

func (m LayerMode) String() string {
	switch m {
	case LayerAuto:
		return "auto"
	case LayerMedium:
		return "medium"
	case LayerLow:
		return "low"
	case LayerRID:
		return "rid"
	}
	return "high"
}

// LayerChoice is how a subscriber's layer of a simulcast track is chosen.
// Whatever the choice, only active layers are sent: when the chosen one
// falls silent the subscriber moves to the nearest active one below it
// (above it if there is none), and back when it returns.
type LayerChoice struct {
	Mode LayerMode
	RID  string // for LayerRID
	// MaxWidth and MaxHeight, when set, exclude larger layers (a player's
	// size, the WHEP layer extension's maxWidth/maxHeight). A layer whose
	// size is not known yet is not excluded; when every active layer is
	// too large, the smallest is sent.
	MaxWidth, MaxHeight int
}

func (c LayerChoice) String() string {
	if c.Mode == LayerRID {
		return c.RID
	}
	return c.Mode.String()
}

// ParseLayerChoice reads "low", "medium", "high", "auto" (any case) or a
// rid; "" is auto. Whether a rid exists is the stream's business
// (Subscription.SetLayer, SubscribeOptions.Layer).
func ParseLayerChoice(s string) (LayerChoice, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return LayerChoice{Mode: LayerAuto}, nil
	case "high":
		return LayerChoice{Mode: LayerHigh}, nil
	case "medium":
		return LayerChoice{Mode: LayerMedium}, nil
	case "low":
		return LayerChoice{Mode: LayerLow}, nil
	}
	if !validRID(s) {
		return LayerChoice{}, fmt.Errorf("%w: %q is neither low, medium, high, auto nor a rid (1-16 of A-Z a-z 0-9 - _)", ErrBadLayer, s)
	}
	return LayerChoice{Mode: LayerRID, RID: s}, nil
}

func validRID(id string) bool {
	if id == "" || len(id) > 16 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Check reports ErrNoLayer for a rid track t does not have.
func (c LayerChoice) Check(t *Track) error {
	if c.Mode != LayerRID {
		return nil
	}
	for _, l := range t.layers {
		if l.RID == c.RID {
			return nil
		}
	}
	have := t.rids()
	if len(have) == 0 {
		return fmt.Errorf("%w: the stream's %s has no simulcast layers, so no layer %q", ErrNoLayer, t.Kind, c.RID)
	}
	return fmt.Errorf("%w: the stream's %s has no layer %q (it has %s)", ErrNoLayer, t.Kind, c.RID, strings.Join(have, ", "))
}

// pick is the layer (an index into the track's layers) that choice c, with
// the adapter's rid auto, asks for among layers; cur is the layer sent now
// (-1: none), kept when no layer is active.
func pick(c LayerChoice, auto string, layers []LayerInfo, cur int) int {
	ranked := Ranked(layers)
	var active []LayerInfo
	for _, l := range ranked {
		if l.Active {
			active = append(active, l)
		}
	}
	if len(active) == 0 {
		if cur >= 0 {
			return cur
		}
		best, _ := Best(layers)
		return best.Index
	}
	fits := active[:0:0]
	for _, l := range active {
		if (c.MaxWidth <= 0 || l.Width <= c.MaxWidth) && (c.MaxHeight <= 0 || l.Height <= c.MaxHeight) {
			fits = append(fits, l)
		}
	}
	if len(fits) == 0 {
		fits = active[:1]
	}
	rid := c.RID
	switch c.Mode {
	case LayerLow:
		return fits[0].Index
	case LayerMedium:
		return fits[(len(fits)-1)/2].Index
	case LayerAuto:
		rid = auto
	case LayerRID:
	default:
		return fits[len(fits)-1].Index
	}
	if rid == "" {
		return fits[len(fits)-1].Index
	}
	// The wanted layer if it can be sent, else the nearest below it, else
	// the lowest of those above.
	pos := -1
	for i, l := range ranked {
		if l.RID == rid {
			pos = i
		}
	}
	best := -1
	for _, l := range fits {
		if rankOf(ranked, l.Index) <= pos {
			best = l.Index
		}
	}
	if best < 0 {
		best = fits[0].Index
	}
	return best
}

func rankOf(ranked []LayerInfo, index int) int {
	for i, l := range ranked {
		if l.Index == index {
			return i
		}
	}
	return -1
}
