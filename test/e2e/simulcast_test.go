package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestSimulcastLayersByteForByte: a publisher sends three layers with
// payloads of their own; a viewer on each explicit layer (by name and by
// rid) gets exactly that layer's packets, byte for byte, every picture
// decodable; a viewer that asks for nothing gets the top layer.
func TestSimulcastLayersByteForByte(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	g := testutil.ThreeLayers()
	testutil.PublishLayers(t, a, "sim", g, true)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"?layer=low", 0},
		{"?layer=medium", 1},
		{"?layer=high", 2},
		{"?layer=h", 1},
		{"?layer=q", 0},
		{"", 2}, // auto, on a network that carries everything
	} {
		t.Run("layer"+tc.query, func(t *testing.T) {
			v := testutil.PlayLayers(t, a.URL()+"/whep/sim"+tc.query, g, client.PlayOptions{})
			testutil.WaitUntil(t, 10*time.Second, "60 packets of the layer and audio", func() bool {
				return v.Check.Report().Packets[tc.want] >= 60 && v.Audio() > 10
			})
			rep := v.Check.Report()
			for j, n := range rep.Packets {
				if j != tc.want && n > 0 {
					t.Errorf("got %d packets of layer %d besides layer %d's", n, j, tc.want)
				}
			}
			if len(rep.Problems) > 0 || rep.Foreign > 0 || len(rep.Switches) > 0 {
				t.Errorf("problems %q, %d foreign packets, switches %+v", rep.Problems, rep.Foreign, rep.Switches)
			}
		})
	}
}

// A layer the stream does not have is refused before any negotiation, a
// word that is no layer name at all too.
func TestSimulcastUnknownLayer(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	testutil.PublishLayers(t, a, "sim", testutil.ThreeLayers(), true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for query, status := range map[string]int{"?layer=x": http.StatusUnprocessableEntity, "?layer=a.b": http.StatusBadRequest} {
		_, err := client.Play(ctx, a.URL()+"/whep/sim"+query, client.PlayOptions{})
		if client.HTTPStatus(err) != status {
			t.Errorf("%s: %v, want HTTP %d", query, err, status)
		} else if status == 422 && !strings.Contains(err.Error(), "q, h, f") {
			t.Errorf("%s: %v does not name the layers", query, err)
		}
	}
}
