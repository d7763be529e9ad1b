package codec

import (
	"bytes"
	"encoding/base64"
	"testing"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestParamSetsFromFmtp(t *testing.T) {
	sps, pps, idr := nalH264SPS(), nalH264PPS(), []byte{0x65, 0x88}
	for _, tt := range []struct {
		name     string
		fmtp     string
		sps, pps []byte
	}{
		{"sps,pps", "packetization-mode=1;sprop-parameter-sets=" + b64(sps) + "," + b64(pps), sps, pps},
		{"pps,sps", "sprop-parameter-sets=" + b64(pps) + "," + b64(sps), sps, pps},
		{"spaces", "sprop-parameter-sets= " + b64(sps) + " , " + b64(pps) + " ", sps, pps},
		{"sps only", "sprop-parameter-sets=" + b64(sps), sps, nil},
		{"slice in the SPS's place", "sprop-parameter-sets=" + b64(idr) + "," + b64(pps), nil, pps},
		{"bad base64", "sprop-parameter-sets=!!!," + b64(pps), nil, pps},
		{"second PPS ignored", "sprop-parameter-sets=" + b64(sps) + "," + b64(pps) + "," + b64([]byte{0x68, 1}), sps, pps},
		{"absent", "profile-level-id=42e01f", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := ParamSetsFromFmtp(H264, tt.fmtp)
			if !bytes.Equal(p.SPS, tt.sps) || !bytes.Equal(p.PPS, tt.pps) || p.VPS != nil {
				t.Errorf("got vps % x sps % x pps % x, want sps % x pps % x", p.VPS, p.SPS, p.PPS, tt.sps, tt.pps)
			}
		})
	}

	vps, hsps, hpps := nalH265VPS(), nalH265SPS(), nalH265PPS()
	p := ParamSetsFromFmtp(H265, "sprop-vps="+b64(vps)+";sprop-sps="+b64(hsps)+";sprop-pps="+b64(hpps))
	if !bytes.Equal(p.VPS, vps) || !bytes.Equal(p.SPS, hsps) || !bytes.Equal(p.PPS, hpps) || !p.Complete(H265) {
		t.Errorf("H.265: got % x / % x / % x", p.VPS, p.SPS, p.PPS)
	}
	// Each value must be of the kind its key names.
	p = ParamSetsFromFmtp(H265, "sprop-vps="+b64(hsps)+";sprop-sps="+b64(hsps))
	if p.VPS != nil || !bytes.Equal(p.SPS, hsps) {
		t.Errorf("H.265 SPS as VPS: got vps % x sps % x", p.VPS, p.SPS)
	}
	if p := ParamSetsFromFmtp(VP8, "sprop-parameter-sets="+b64(sps)); p.SPS != nil {
		t.Errorf("VP8 learned an SPS")
	}
}

func TestParamSetsLearn(t *testing.T) {
	var p ParamSets
	sps := nalH264SPS()
	if k := p.Learn(H264, sps); k != SPS || p.Version != 1 {
		t.Fatalf("Learn(SPS) = %v, version %d", k, p.Version)
	}
	old := p.SPS
	if k := p.Learn(H264, bytes.Clone(sps)); k != SPS || p.Version != 1 || &p.SPS[0] != &old[0] {
		t.Errorf("unchanged SPS: kind %v, version %d, replaced %v", k, p.Version, &p.SPS[0] != &old[0])
	}
	if n := testing.AllocsPerRun(100, func() { p.Learn(H264, sps) }); n != 0 {
		t.Errorf("learning an unchanged SPS allocates %v times", n)
	}
	changed := bytes.Clone(sps)
	changed[3]++
	p.Learn(H264, changed)
	if p.Version != 2 || !bytes.Equal(p.SPS, changed) || !bytes.Equal(old, sps) {
		t.Errorf("changed SPS: version %d, old slice modified: %v", p.Version, !bytes.Equal(old, sps))
	}
	changed[3]++ // the stored copy is the gateway's own
	if bytes.Equal(p.SPS, changed) {
		t.Errorf("Learn kept the caller's slice")
	}
	for _, tt := range []struct {
		id   ID
		nal  []byte
		want ParamKind
	}{
		{H264, nalH264PPS(), PPS},
		{H264, nalH264IDR(), NotParam},
		{H264, nil, NotParam},
		{H265, nalH265VPS(), VPS},
		{H265, nalH265SPS(), SPS},
		{H265, nalH265PPS(), PPS},
		{H265, []byte{0x40}, NotParam}, // VPS type, truncated header
		{H265, nalH264SPS(), NotParam},
		{VP8, nalH264SPS(), NotParam},
	} {
		var p ParamSets
		if got := p.Learn(tt.id, tt.nal); got != tt.want {
			t.Errorf("Learn(%v, % x) = %v, want %v", tt.id, tt.nal[:min(len(tt.nal), 4)], got, tt.want)
		}
	}
}

func TestParamSetsSniff(t *testing.T) {
	for _, name := range []string{"h264/idr", "h264/idr-no-stapa"} {
		var p ParamSets
		for _, pkt := range packetize(t, name) {
			p.Sniff(H264, pkt)
		}
		if !p.Complete(H264) || !bytes.Equal(p.SPS, nalH264SPS()) || !bytes.Equal(p.PPS, nalH264PPS()) {
			t.Errorf("%s: sps % x pps % x", name, p.SPS, p.PPS)
		}
	}
	var p ParamSets
	for _, pkt := range packetize(t, "h265/idr") {
		p.Sniff(H265, pkt)
	}
	if !p.Complete(H265) || !bytes.Equal(p.VPS, nalH265VPS()) || !bytes.Equal(p.SPS, nalH265SPS()) || !bytes.Equal(p.PPS, nalH265PPS()) {
		t.Errorf("h265: vps % x sps % x pps % x", p.VPS, p.SPS, p.PPS)
	}
	var none ParamSets
	for _, pkt := range packetize(t, "h264/p") {
		none.Sniff(H264, pkt)
	}
	if none.Complete(H264) || none.Version != 0 {
		t.Errorf("P slices yielded parameter sets")
	}
	if !none.Complete(VP8) {
		t.Errorf("VP8 needs no parameter sets")
	}
}

func TestAggregatedUnits(t *testing.T) {
	for _, tt := range []struct {
		name      string
		b         []byte
		units     int
		malformed bool
	}{
		{"empty", nil, 0, false},
		{"two", []byte{0, 1, 0xaa, 0, 2, 0xbb, 0xcc}, 2, false},
		{"zero size", []byte{0, 1, 0xaa, 0, 0}, 1, true},
		{"overrun", []byte{0, 1, 0xaa, 0, 3, 0xbb}, 1, true},
		{"one stray byte", []byte{0, 1, 0xaa, 0}, 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			it := AggregatedUnits(tt.b)
			n := 0
			for u, ok := it.Next(); ok; u, ok = it.Next() {
				if len(u) == 0 {
					t.Fatal("empty unit")
				}
				n++
			}
			if n != tt.units || it.Malformed() != tt.malformed {
				t.Errorf("%d units, malformed %v; want %d, %v", n, it.Malformed(), tt.units, tt.malformed)
			}
			if _, ok := it.Next(); ok {
				t.Error("Next after the end returned a unit")
			}
		})
	}
}
