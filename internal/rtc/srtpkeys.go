package rtc

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// errNoDTLSConn: the peer connection has no DTLS connection to read keys
// from (not connected yet, or a pion whose DTLSTransport changed shape).
var errNoDTLSConn = errors.New("rtc: no DTLS connection to derive SRTP keys from")

// SRTPKeys returns the SRTP protection profile and master keys that pc's
// DTLS handshake established (RFC 5764 §4.2: exported keying material,
// label "EXTRACTOR-dtls_srtp"), the same keys pion's own SRTP session uses.
// Valid once pc is connected.
//
// pion v4 has no public accessor for them: DTLSTransport keeps its
// *dtls.Conn in an unexported field. It is read here with reflect (the
// field's name and type are checked, so a pion that renamed or retyped it
// yields an error, never a bad pointer), and everything after that is
// public API: dtls.Conn.ConnectionState, SelectedSRTPProtectionProfile and
// srtp.Config.ExtractSessionKeysFromDTLS, which split the material into
// client and server keys by our DTLS role. Both roles are proven on every
// build against pion peers: as the DTLS server, whep's
// TestEgressPayloadsAndSenderReports (every packet the gateway seals
// decrypts at a pion viewer); as the client, wishbench's
// TestWishbenchAgainstGateway (its viewers decrypt the gateway's packets
// with these keys).
func SRTPKeys(pc *webrtc.PeerConnection) (srtp.Config, error) {
	var cfg srtp.Config
	conn, err := dtlsConn(pc.SCTP().Transport())
	if err != nil {
		return cfg, err
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return cfg, fmt.Errorf("%w: handshake not complete", errNoDTLSConn)
	}
	dp, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return cfg, errors.New("rtc: DTLS negotiated no SRTP protection profile")
	}
	if cfg.Profile, err = srtpProfile(dp); err != nil {
		return cfg, err
	}
	client, err := dtlsClient(pc)
	if err != nil {
		return cfg, err
	}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, client); err != nil {
		return cfg, fmt.Errorf("rtc: SRTP keys: %w", err)
	}
	return cfg, nil
}

// dtlsConn reads DTLSTransport's unexported conn field (see SRTPKeys).
func dtlsConn(t *webrtc.DTLSTransport) (*dtls.Conn, error) {
	// pion sets conn under its lock together with the Connected state and
	// never changes it after; State takes that lock, so reading conn once
	// it says Connected is ordered after the write.
	if t == nil || t.State() != webrtc.DTLSTransportStateConnected {
		return nil, errNoDTLSConn
	}
	f := reflect.ValueOf(t).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*dtls.Conn]() {
		return nil, fmt.Errorf("%w: pion's DTLSTransport has no conn *dtls.Conn field", errNoDTLSConn)
	}
	conn := *(**dtls.Conn)(unsafe.Pointer(f.UnsafeAddr()))
	if conn == nil {
		return nil, errNoDTLSConn
	}
	return conn, nil
}

// dtlsClient reports our DTLS role from the descriptions (RFC 8842 §5.2,
// RFC 5763 §5): a=setup:active is the client, passive the server; an
// offerer's actpass takes the opposite of what the answer chose.
func dtlsClient(pc *webrtc.PeerConnection) (bool, error) {
	setup := func(d *webrtc.SessionDescription) string {
		if d == nil {
			return ""
		}
		for _, role := range []string{"active", "passive", "actpass"} {
			if strings.Contains(d.SDP, "a=setup:"+role+"\r") || strings.Contains(d.SDP, "a=setup:"+role+"\n") {
				return role
			}
		}
		return ""
	}
	switch local := setup(pc.CurrentLocalDescription()); local {
	case "active":
		return true, nil
	case "passive":
		return false, nil
	case "actpass":
		switch setup(pc.CurrentRemoteDescription()) {
		case "passive":
			return true, nil
		case "active":
			return false, nil
		}
	}
	return false, errors.New("rtc: the descriptions name no DTLS role (a=setup)")
}

// srtpProfile maps the DTLS-SRTP profile to pion/srtp's (the ones pion
// offers; RFC 5764 §4.1.2, RFC 7714 §14.2).
func srtpProfile(p dtls.SRTPProtectionProfile) (srtp.ProtectionProfile, error) {
	switch p {
	case dtls.SRTP_AEAD_AES_128_GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	case dtls.SRTP_AEAD_AES_256_GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, nil
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case dtls.SRTP_NULL_HMAC_SHA1_80:
		return srtp.ProtectionProfileNullHmacSha1_80, nil
	}
	return 0, fmt.Errorf("rtc: unsupported SRTP protection profile %#04x", uint16(p))
}
