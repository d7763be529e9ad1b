package codec

import (
	"bytes"
	"slices"
	"testing"
)

// fuzzMIMEs are the MIME types the fuzzer picks from by index, so that it
// mutates payloads instead of wasting time on MIME strings that all resolve
// to "unknown".
func fuzzMIMEs() []string {
	return []string{"video/H264", "video/H265", "video/VP8", "video/VP9", "video/AV1", "audio/opus", "video/rtx"}
}

// FuzzKeyframe checks that no payload makes Keyframe or H264NALTypes
// panic or write to the payload, and that the two H.264 entry points agree.
func FuzzKeyframe(f *testing.F) {
	mimes := fuzzMIMEs()
	seeds := [][]byte{
		nil,
		{0x65},
		{0x78, 0x00, 0x01, 0x67, 0x00, 0x05, 0x68},
		{0x7c, 0x85},
		{0x60, 0x01, 0x00, 0x02, 0x40, 0x01},
		{0x62, 0x01, 0x93},
		{0x90, 0xf0, 0x81, 0x23, 0x07, 0x41, 0x50},
		{0xa8, 0x81, 0x23, 0x00},
		{0x68},
	}
	for _, pkts := range payloaderSamples(f) {
		for _, p := range pkts {
			// The heads are what the parsers read; keep the corpus small.
			seeds = append(seeds, p[:min(len(p), 48)])
		}
	}
	for _, s := range seeds {
		for i := range mimes {
			f.Add(uint8(i), s)
		}
	}

	f.Fuzz(func(t *testing.T, m uint8, payload []byte) {
		mime := mimes[int(m)%len(mimes)]
		orig := bytes.Clone(payload)

		got := Parse(mime).Keyframe(payload)
		types := H264NALTypes(payload, nil)

		if !bytes.Equal(payload, orig) {
			t.Fatalf("payload modified: % x -> % x", orig, payload)
		}
		if Parse(mime).Audio() && !got {
			t.Fatalf("Keyframe(%q) = false, audio is always a refresh point", mime)
		}
		if Parse(mime) == H264 {
			if want := slices.ContainsFunc(types, h264Refresh); got != want {
				t.Fatalf("Keyframe = %v but H264NALTypes = %v for % x", got, types, payload)
			}
		}
	})
}
