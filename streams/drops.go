package streams

import "sync/atomic"

// IngestDrop is why a publisher's packet never reached its track.
type IngestDrop uint8

const (
	// DropMalformed: unparsable RTP, a payload type that was not
	// negotiated, or a payload whose structure is inconsistent (a STAP-A
	// size running past the end, a truncated FU, a NAL unit over the
	// reassembly bound).
	DropMalformed IngestDrop = iota
	// DropUnsupported: a packetization the gateway cannot convert for
	// WebRTC (H.264 STAP-B, MTAP, FU-B; H.265 PACI).
	DropUnsupported
	// DropOversized: a payload larger than a packet buffer (1500 bytes),
	// from a source whose codec is forwarded without re-packetization.
	DropOversized

	numIngestDrops
)

// IngestDrops counts a track's dropped publisher packets by reason.
type IngestDrops struct {
	Malformed, Unsupported, Oversized uint64
}

// Total is the sum over every reason.
func (d IngestDrops) Total() uint64 { return d.Malformed + d.Unsupported + d.Oversized }

// ingestDrops are a track's live drop counters.
type ingestDrops [numIngestDrops]atomic.Uint64

func (d *ingestDrops) snapshot() IngestDrops {
	return IngestDrops{
		Malformed:   d[DropMalformed].Load(),
		Unsupported: d[DropUnsupported].Load(),
		Oversized:   d[DropOversized].Load(),
	}
}

// Drop counts a packet the publisher received for track i but could not
// write. It costs one atomic add; publishers call it on their packet path.
func (p *Publication) Drop(i int, why IngestDrop) {
	if i >= 0 && i < len(p.tracks) && why < numIngestDrops {
		p.tracks[i].stats.dropped[why].Add(1)
	}
}
