package transcode

import "testing"

// What one transcoder holds is bounded whatever its publisher sends: 8 of
// them, each fed the tone and then packets whose timestamps leap 0.9 s
// ahead (each gap is filled with silence faster than the encoder drains
// it, so the native buffer of samples waiting for the encoder fills to its
// 2 s limit), fragments that never complete and AU headers that claim more
// than they carry. Each stays within 3 MiB of resident memory (the 2 s
// buffer is 750 KiB; BenchmarkTranscoderMemory: 0.5-0.8 MiB for a
// camera's normal stream), and 7 MB more of such input into each adds
// nothing but allocator noise (well under 256 KiB).
func TestTranscoderMemoryIsBounded(t *testing.T) {
	requireTranscoder(t)
	aus, cfg := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	c := aacCodec(t, cfg)
	const n, rounds = 8, 30
	emit := func(uint32, []byte) {}
	held := make([]*Transcoder, 0, n)
	defer func() {
		for _, tr := range held {
			tr.Close()
		}
	}()
	ts := make([]uint32, n)
	// Payloads made once: the test's own garbage would show in the
	// resident memory too (under -race, its shadow memory).
	payloads := make([][]byte, len(aus))
	for i, au := range aus {
		payloads[i] = hbrPacket(au)
	}
	big := claim(4000)
	part := hbrPacket(make([]byte, 1000))
	part[2], part[3] = auHeader(8000) // the first part of an AU of 8000 bytes, never continued
	hostile := func(rounds int) {
		for k, tr := range held {
			for i := range rounds {
				ts[k] += 43200 // 0.9 s
				tr.Convert(rtpHeader(ts[k], uint16(i)), payloads[i%len(payloads)], emit)
				tr.Convert(rtpHeader(ts[k], uint16(i)), part, emit)
				tr.Convert(rtpHeader(ts[k], uint16(i)), big, emit)
			}
		}
	}
	rss0 := vmRSS(t)
	for i := range n {
		tr, err := New(c, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, tr)
		for j := range 47 {
			tr.Convert(rtpHeader(uint32(j*1024), uint16(j)), payloads[j], emit)
		}
		ts[i] = 47 * 1024
	}
	// Twice: the allocators' working sets settle with the first.
	hostile(rounds)
	hostile(rounds)
	for _, tr := range held {
		if g := tr.Stats.Gaps.Load(); g < rounds {
			t.Fatalf("%d gaps filled, want the leaps filled with silence", g)
		}
	}
	rss1 := vmRSS(t)
	// Then 7 MB more of each: the tone, each AU followed by 7 kB of an
	// 8 kB AU that never completes and a header claiming 4 kB.
	for k, tr := range held {
		for i := range 1000 {
			ts[k] += 1024
			tr.Convert(rtpHeader(ts[k], uint16(i)), payloads[i%len(payloads)], emit)
			for range 7 {
				tr.Convert(rtpHeader(ts[k], uint16(i)), part, emit)
			}
			tr.Convert(rtpHeader(ts[k], uint16(i)), big, emit)
		}
	}
	rss2 := vmRSS(t)
	per, more := (rss1-rss0)/n, (rss2-rss1)/n
	t.Logf("%d transcoders after hostile input: %d KiB of resident memory each, then %+d KiB each after 7 MB more",
		n, per>>10, more>>10)
	if per > 3<<20 {
		t.Errorf("%d KiB of resident memory per transcoder, want at most 3 MiB", per>>10)
	}
	if more > 256<<10 {
		t.Errorf("more hostile input grew each transcoder by %d KiB", more>>10)
	}
}

// auHeader is an AAC-hbr AU-header (13-bit size, 3-bit index 0).
func auHeader(size int) (byte, byte) { return byte(size << 3 >> 8), byte(size << 3) }

// claim is a one-AU AAC-hbr payload whose header says size bytes but
// which carries 6.
func claim(size int) []byte {
	hi, lo := auHeader(size)
	return []byte{0x00, 0x10, hi, lo, 1, 2, 3, 4, 5, 6}
}
