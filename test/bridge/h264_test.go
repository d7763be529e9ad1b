package bridge_test

import (
	"os"
	"path/filepath"
	"testing"
)

// annexB splits an Annex-B byte stream into NAL units.
func annexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				nals = append(nals, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// accessUnits groups H.264 NAL units into access units (ITU-T H.264
// §7.4.1.2.3): a new one starts at an AUD, SPS or PPS following a slice, or
// at a slice whose first_mb_in_slice is 0 (its first coded bit is 1).
func accessUnits(nals [][]byte) [][][]byte {
	var aus [][][]byte
	var cur [][]byte
	hasSlice := false
	for _, n := range nals {
		typ := n[0] & 0x1F
		isSlice := typ == 1 || typ == 5
		newAU := hasSlice && ((typ >= 6 && typ <= 9) || (isSlice && len(n) > 1 && n[1]&0x80 != 0))
		if newAU {
			aus = append(aus, cur)
			cur, hasSlice = nil, false
		}
		cur = append(cur, n)
		hasSlice = hasSlice || isSlice
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus
}

// loadAUs reads an H.264 sample from testdata/rtsp.
func loadAUs(t *testing.T, name string) [][][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rtsp", name))
	if err != nil {
		t.Fatal(err)
	}
	aus := accessUnits(annexB(b))
	if len(aus) < 10 {
		t.Fatalf("%s: only %d access units", name, len(aus))
	}
	return aus
}

func TestAccessUnits(t *testing.T) {
	aus := loadAUs(t, "testsrc-baseline.h264")
	if len(aus) != 50 {
		t.Fatalf("got %d access units, ffprobe counts 50 frames", len(aus))
	}
	first := aus[0]
	var types []byte
	for _, n := range first {
		types = append(types, n[0]&0x1F)
	}
	if !containsAll(types, 7, 8, 5) {
		t.Fatalf("first access unit has NAL types %v, want SPS, PPS and IDR", types)
	}
}

func containsAll(have []byte, want ...byte) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// videoCheck inspects the H.264 RTP a viewer receives: payload sizes, and
// whether the parameter sets came before the first IDR.
type videoCheck struct {
	packets      int
	maxPacket    int // whole RTP packet, header included
	sawSPS       bool
	sawPPS       bool
	firstIDR     bool // an IDR was seen
	paramsBefore bool // SPS and PPS were seen before the first IDR
	fuStartType  byte
}

func (v *videoCheck) add(size int, payload []byte) {
	v.packets++
	v.maxPacket = max(v.maxPacket, size)
	if len(payload) == 0 {
		return
	}
	see := func(typ byte) {
		switch typ {
		case 7:
			v.sawSPS = true
		case 8:
			v.sawPPS = true
		case 5:
			if !v.firstIDR {
				v.firstIDR = true
				v.paramsBefore = v.sawSPS && v.sawPPS
			}
		}
	}
	switch typ := payload[0] & 0x1F; typ {
	case 24: // STAP-A
		b := payload[1:]
		for len(b) >= 2 {
			n := int(b[0])<<8 | int(b[1])
			if n == 0 || n > len(b)-2 {
				break
			}
			see(b[2] & 0x1F)
			b = b[2+n:]
		}
	case 28: // FU-A
		if len(payload) > 1 && payload[1]&0x80 != 0 {
			see(payload[1] & 0x1F)
		}
	default:
		see(typ)
	}
}
