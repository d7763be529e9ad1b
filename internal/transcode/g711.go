package transcode

// G.711 expansion (ITU-T G.711 §2, the inverse of the segment encoding):
// each byte is one sample; the tables are built once per Transcoder from
// the formulas, not carried as data.

func ulawTable() *[256]int16 {
	var t [256]int16
	for i := range t {
		u := ^byte(i)
		mag := (int(u&0x0F)<<3 + 0x84) << (u & 0x70 >> 4)
		v := int16(mag - 0x84)
		if u&0x80 != 0 {
			v = -v
		}
		t[i] = v
	}
	return &t
}

func alawTable() *[256]int16 {
	var t [256]int16
	for i := range t {
		a := byte(i) ^ 0x55
		seg := int(a&0x70) >> 4
		mag := int(a&0x0F)<<4 + 8
		if seg > 0 {
			mag = (mag + 0x100) << (seg - 1)
		}
		v := int16(mag)
		if a&0x80 == 0 {
			v = -v
		}
		t[i] = v
	}
	return &t
}
