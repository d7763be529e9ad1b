package codec

// av1N is the N bit of the AV1 aggregation header Z|Y|W(2)|N|-|-|-
// (AV1 RTP spec §4.4): set exactly on the first packet of a coded video
// sequence, i.e. the packet opening a key frame with its sequence header.
// Reading it avoids parsing OBUs, which may be fragmented across packets.
const av1N = 0x08

func av1Keyframe(payload []byte) bool {
	return len(payload) > 0 && payload[0]&av1N != 0
}
