package codec

import (
	"encoding/base64"
	"strings"
)

// ParamKind names a parameter set NAL unit.
type ParamKind uint8

const (
	NotParam ParamKind = iota
	VPS                // H.265 only
	SPS
	PPS
)

// ParamSets are the parameter sets of an H.264 (SPS, PPS) or H.265 (VPS,
// SPS, PPS) stream, as a decoder needs them ahead of a keyframe. The zero
// value is empty; the codec is passed to each method so that a ParamSets can
// live, unconstructed, inside a larger zero-value struct.
type ParamSets struct {
	VPS, SPS, PPS []byte
	// Version changes whenever one of the sets changes.
	Version uint64
}

// ParamKindOf reports which parameter set nal is for codec id (NotParam for any
// other NAL unit, codec or malformed header).
func ParamKindOf(id ID, nal []byte) ParamKind {
	switch {
	case id == H264 && len(nal) >= 1:
		switch H264Type(nal[0]) {
		case H264TypeSPS:
			return SPS
		case H264TypePPS:
			return PPS
		}
	case id == H265 && len(nal) >= H265HeaderLen:
		switch H265Type(nal[0]) {
		case H265TypeVPS:
			return VPS
		case H265TypeSPS:
			return SPS
		case H265TypePPS:
			return PPS
		}
	}
	return NotParam
}

// Learn stores nal if it is a parameter set of codec id and reports which one
// it is. A set that differs from the stored one replaces it by a fresh copy
// (the old slice is never written, so callers may keep handing it out) and
// bumps Version; an unchanged one costs a comparison and no allocation.
func (p *ParamSets) Learn(id ID, nal []byte) ParamKind {
	k := ParamKindOf(id, nal)
	var dst *[]byte
	switch k {
	case VPS:
		dst = &p.VPS
	case SPS:
		dst = &p.SPS
	case PPS:
		dst = &p.PPS
	default:
		return NotParam
	}
	if string(*dst) != string(nal) {
		*dst = append([]byte(nil), nal...)
		p.Version++
	}
	return k
}

// Sniff learns the parameter sets an RTP payload carries whole: a single NAL
// unit packet, or the members of an aggregation packet (STAP-A, RFC 6184
// §5.7.1; AP, RFC 7798 §4.4.2), which is how encoders send them. Fragments
// are ignored: parameter sets are small enough never to be fragmented.
func (p *ParamSets) Sniff(id ID, payload []byte) {
	var units Units
	switch {
	case id == H264 && len(payload) >= 1 && H264Type(payload[0]) == H264TypeSTAPA:
		units = AggregatedUnits(payload[1:])
	case id == H265 && len(payload) >= H265HeaderLen && H265Type(payload[0]) == H265TypeAP:
		units = AggregatedUnits(payload[H265HeaderLen:])
	default:
		p.Learn(id, payload)
		return
	}
	for u, ok := units.Next(); ok; u, ok = units.Next() {
		p.Learn(id, u)
	}
}

// Complete reports whether every set codec id needs is known; true for
// codecs without parameter sets.
func (p *ParamSets) Complete(id ID) bool {
	switch id {
	case H264:
		return len(p.SPS) > 0 && len(p.PPS) > 0
	case H265:
		return len(p.VPS) > 0 && len(p.SPS) > 0 && len(p.PPS) > 0
	}
	return true
}

// ParamSetsFromFmtp reads the parameter sets an fmtp line carries:
// sprop-parameter-sets for H.264 (RFC 6184 §8.1), sprop-vps/sps/pps for
// H.265 (RFC 7798 §7.1). Each value must decode as base64 and hold a NAL
// unit of the kind its place names; anything else is ignored, so a
// publisher's fmtp can never plant a slice where an SPS belongs.
func ParamSetsFromFmtp(id ID, fmtp string) ParamSets {
	var p ParamSets
	learn := func(b64 string, want ParamKind) {
		nal, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err == nil && ParamKindOf(id, nal) == want {
			p.Learn(id, nal)
		}
	}
	switch id {
	case H264:
		// "SPS,PPS[,more PPS...]"; the first SPS and PPS are the ones used.
		sprop := FmtpParam(fmtp, "sprop-parameter-sets")
		for i := 0; sprop != "" && i < 8; i++ {
			var v string
			v, sprop, _ = strings.Cut(sprop, ",")
			nal, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil {
				continue
			}
			if k := ParamKindOf(id, nal); (k == SPS && p.SPS == nil) || (k == PPS && p.PPS == nil) {
				p.Learn(id, nal)
			}
		}
	case H265:
		learn(FmtpParam(fmtp, "sprop-vps"), VPS)
		learn(FmtpParam(fmtp, "sprop-sps"), SPS)
		learn(FmtpParam(fmtp, "sprop-pps"), PPS)
	}
	return p
}
