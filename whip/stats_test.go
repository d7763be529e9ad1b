package whip

import "testing"

func TestSeqLoss(t *testing.T) {
	for _, tc := range []struct {
		name string
		seqs []uint16
		lost uint64
	}{
		{"in order", []uint16{10, 11, 12, 13}, 0},
		{"one gap", []uint16{10, 11, 13, 14}, 1},
		{"gap filled late", []uint16{10, 11, 13, 12, 14}, 0},
		{"duplicate", []uint16{10, 11, 11, 12}, 0},
		{"wrap", []uint16{65534, 65535, 0, 2}, 1},
		{"two cycles", append(seqRange(0, 65535), seqRange(0, 65535)...), 0},
		{"burst lost", []uint16{1, 2, 100}, 97},
		{"old packet ignored", []uint16{1000, 1001, 2, 1002}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l seqLoss
			for _, s := range tc.seqs {
				l.observe(s)
			}
			if got := l.lost.Load(); got != tc.lost {
				t.Errorf("lost %d, want %d", got, tc.lost)
			}
		})
	}
}

func seqRange(from, to int) []uint16 {
	out := make([]uint16, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, uint16(i))
	}
	return out
}
