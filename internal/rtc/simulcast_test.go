package rtc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// simulcastOffer is a minimal WHIP offer whose video m-line carries attrs.
func simulcastOffer(attrs ...string) string {
	return "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=mid:0\r\na=ice-ufrag:uf\r\na=ice-pwd:pwpwpwpwpwpwpwpwpwpwpwpw\r\n" +
		"a=fingerprint:sha-256 AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB\r\na=setup:actpass\r\na=sendonly\r\na=rtcp-mux\r\n" +
		"a=rtpmap:96 VP8/90000\r\n" + strings.Join(attrs, "\r\n") + "\r\n"
}

func TestParseSimulcast(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attrs  []string
		layers []string
		paused []string
		err    error
	}{
		{"none", nil, nil, nil, nil},
		{"rid lines without simulcast", []string{"a=rid:q send", "a=rid:f send"}, nil, nil, nil},
		{"browser order", []string{"a=rid:q send", "a=rid:h send", "a=rid:f send", "a=simulcast:send q;h;f"}, []string{"q", "h", "f"}, nil, nil},
		{"simulcast line order wins", []string{"a=rid:f send", "a=rid:q send", "a=simulcast:send q;f"}, []string{"q", "f"}, nil, nil},
		{"paused", []string{"a=rid:0 send", "a=rid:1 send", "a=simulcast:send 0;~1"}, []string{"0", "1"}, []string{"1"}, nil},
		{"alternatives", []string{"a=rid:a send", "a=rid:b send", "a=rid:c send", "a=simulcast:send a,b;c"}, []string{"a", "b", "c"}, nil, nil},
		{"restrictions", []string{"a=rid:hi send pt=96;max-width=1280", "a=rid:lo send max-width=320", "a=simulcast:send hi;lo"}, []string{"hi", "lo"}, nil, nil},
		{"recv side ignored", []string{"a=rid:x recv", "a=simulcast:recv x"}, nil, nil, nil},
		{"send after recv", []string{"a=rid:x recv", "a=rid:y send", "a=simulcast:recv x send y"}, []string{"y"}, nil, nil},
		{"undeclared rid", []string{"a=rid:q send", "a=simulcast:send q;f"}, nil, nil, ErrMalformed},
		{"rid declared recv only", []string{"a=rid:q recv", "a=simulcast:send q"}, nil, nil, ErrMalformed},
		{"duplicate", []string{"a=rid:q send", "a=simulcast:send q;q"}, nil, nil, ErrMalformed},
		{"bad characters", []string{"a=rid:a.b send", "a=simulcast:send a.b"}, nil, nil, ErrMalformed},
		{"too long", []string{"a=rid:abcdefghijklmnopq send", "a=simulcast:send abcdefghijklmnopq"}, nil, nil, ErrMalformed},
		{"empty entry", []string{"a=rid:q send", "a=simulcast:send q;"}, nil, nil, ErrMalformed},
		{"two simulcast lines", []string{"a=rid:q send", "a=simulcast:send q", "a=simulcast:send q"}, nil, nil, ErrMalformed},
		{"five layers", []string{"a=rid:1 send", "a=rid:2 send", "a=rid:3 send", "a=rid:4 send", "a=rid:5 send", "a=simulcast:send 1;2;3;4;5"}, nil, nil, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOffer([]byte(simulcastOffer(tc.attrs...)))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sc := o.Media[0].Simulcast
			if got := Layers(sc); !slices.Equal(got, tc.layers) {
				t.Fatalf("layers %q, want %q", got, tc.layers)
			}
			var paused []string
			for _, s := range sc {
				for _, r := range s {
					if r.Paused {
						paused = append(paused, r.ID)
					}
				}
			}
			if !slices.Equal(paused, tc.paused) {
				t.Errorf("paused %q, want %q", paused, tc.paused)
			}
		})
	}
}

// pion's own lines are replaced where they stood; the recv list repeats
// the offer's, alternatives and pause marks included.
func TestAnswerSimulcastRewrite(t *testing.T) {
	offer, err := ParseOffer([]byte(simulcastOffer("a=rid:f send", "a=rid:q send", "a=rid:h send", "a=simulcast:send q,h;~f")))
	if err != nil {
		t.Fatal(err)
	}
	pion := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rid:f recv\r\na=rid:q recv\r\na=rid:h recv\r\n" +
		"a=simulcast:recv f;q;h\r\na=recvonly\r\n"
	got := FinalizeAnswer(pion, AnswerOptions{SimulcastFrom: offer})
	want := "a=mid:0\r\na=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q,h;~f\r\na=recvonly\r\n"
	if !strings.Contains(got, want) || strings.Count(got, "a=rid:") != 3 || strings.Count(got, "a=simulcast:") != 1 {
		t.Errorf("answer:\n%s\nwant it to contain:\n%s", got, want)
	}
	// A section pion answered without any simulcast still receives it all.
	bare := strings.Replace(strings.Replace(pion, "a=rid:f recv\r\na=rid:q recv\r\na=rid:h recv\r\n", "", 1), "a=simulcast:recv f;q;h\r\n", "", 1)
	if got := FinalizeAnswer(bare, AnswerOptions{SimulcastFrom: offer}); !strings.Contains(got, "a=simulcast:recv q,h;~f\r\n") || strings.Count(got, "a=rid:") != 3 {
		t.Errorf("answer without pion's lines:\n%s", got)
	}
}

// TestGoldenSimulcastAnswers: the simulcast offers Chromium, Firefox and
// OBS really send, through a real pion peer connection and FinalizeAnswer:
// every layer is received, in the offer's order, with CRLF line ends (OBS
// counts the entries of the first a=simulcast line up to its CRLF).
func TestGoldenSimulcastAnswers(t *testing.T) {
	e, err := NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tc := range []struct {
		file   string
		layers []string
	}{
		{"chromium-156-whip-simulcast.sdp", []string{"q", "h", "f"}},
		{"firefox-whip-simulcast.sdp", []string{"q", "h", "f"}},
		{"obs-32-whip-simulcast.sdp", []string{"0", "1", "2"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			offer, err := ParseOffer(body)
			if err != nil {
				t.Fatal(err)
			}
			var chosen []Chosen
			for _, m := range offer.Media {
				c, err := ChooseIngestCodec(m)
				if err != nil {
					t.Fatal(err)
				}
				kind := webrtc.RTPCodecTypeVideo
				if m.Kind == "audio" {
					kind = webrtc.RTPCodecTypeAudio
				} else if got := Layers(m.Simulcast); !slices.Equal(got, tc.layers) {
					t.Fatalf("offer's layers %q, want %q", got, tc.layers)
				}
				chosen = append(chosen, Chosen{Kind: kind, Codec: c})
			}
			pc, err := e.NewPeerConnection(RoleIngest, offer, chosen)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			answer, err := NewPeer(pc).Negotiate(ctx, offer, AnswerOptions{Direction: "recvonly", SimulcastFrom: offer})
			if err != nil {
				t.Fatal(err)
			}
			var sd sdp.SessionDescription
			if err := sd.UnmarshalString(answer); err != nil {
				t.Fatal(err)
			}
			checkSimulcastAnswer(t, offer, &sd)
			first := answer[strings.Index(answer, "a=simulcast:"):]
			if line := first[:strings.Index(first, "\r\n")]; line != "a=simulcast:recv "+strings.Join(tc.layers, ";") {
				t.Errorf("first simulcast line %q", line)
			}
		})
	}
}

// checkSimulcastAnswer: every accepted m-section whose offer sent simulcast
// receives exactly the offered rids, each declared recv once, and lists
// them in the offer's order.
func checkSimulcastAnswer(t *testing.T, offer *Offer, sd *sdp.SessionDescription) {
	t.Helper()
	for i, md := range sd.MediaDescriptions {
		if i >= len(offer.Media) || offer.Media[i].Simulcast == nil || md.MediaName.Port.Value == 0 {
			continue
		}
		want := Layers(offer.Media[i].Simulcast)
		var rids, lines []string
		for _, a := range md.Attributes {
			switch a.Key {
			case "rid":
				rids = append(rids, a.Value)
			case "simulcast":
				lines = append(lines, a.Value)
			}
		}
		var wantRids []string
		for _, id := range want {
			wantRids = append(wantRids, id+" recv")
		}
		if !slices.Equal(rids, wantRids) {
			t.Errorf("m-line %d: a=rid %q, want %q", i, rids, wantRids)
		}
		if len(lines) != 1 || Layers(parseList(strings.TrimPrefix(lines[0], "recv "))) == nil ||
			!slices.Equal(Layers(parseList(strings.TrimPrefix(lines[0], "recv "))), want) {
			t.Errorf("m-line %d: a=simulcast %q, want recv of %q", i, lines, want)
		}
	}
}

// parseList reads a simulcast list back, for the checks above.
func parseList(list string) []SimulcastStream {
	var out []SimulcastStream
	for _, e := range strings.Split(list, ";") {
		var s SimulcastStream
		for _, alt := range strings.Split(e, ",") {
			s = append(s, SimulcastRID{ID: strings.TrimPrefix(alt, "~"), Paused: strings.HasPrefix(alt, "~")})
		}
		out = append(out, s)
	}
	return out
}
