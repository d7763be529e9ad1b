package streams

import (
	"sort"
	"time"
)

// SessionKind is what a session is to the gateway: the protocol it came by
// and whether it publishes or reads. Listings, the control API and the
// metrics name it by String; nothing else translates protocols.
type SessionKind uint8

const (
	SessionUnknown     SessionKind = iota
	SessionWHIP                    // a WebRTC publisher (RFC 9725)
	SessionWHEP                    // a WebRTC viewer
	SessionRTSPPublish             // an RTSP client publishing (ANNOUNCE, RECORD)
	SessionRTSPRead                // an RTSP client reading (PLAY)
	SessionRTSPSource              // a configured camera the gateway pulls
	SessionRelay                   // another node's stream, pulled here (cluster)
	SessionRelayRead               // another node pulling a stream from here
)

// SessionKinds lists every kind, so that a listing can show zeros.
func SessionKinds() []SessionKind {
	return []SessionKind{SessionWHIP, SessionWHEP, SessionRTSPPublish, SessionRTSPRead,
		SessionRTSPSource, SessionRelay, SessionRelayRead}
}

// String is the kind's name in the API and the metrics.
func (k SessionKind) String() string {
	switch k {
	case SessionWHIP:
		return "whip"
	case SessionWHEP:
		return "whep"
	case SessionRTSPPublish:
		return "rtsp-publish"
	case SessionRTSPRead:
		return "rtsp-read"
	case SessionRTSPSource:
		return "rtsp-source"
	case SessionRelay:
		return "relay"
	case SessionRelayRead:
		return "relay-read"
	}
	return "unknown"
}

// Protocol names the protocol alone: "whip", "whep", "rtsp" (clients and
// cameras) or "relay".
func (k SessionKind) Protocol() string {
	switch k {
	case SessionRTSPPublish, SessionRTSPRead, SessionRTSPSource:
		return "rtsp"
	case SessionRelay, SessionRelayRead:
		return "relay"
	}
	return k.String()
}

// Publishes reports whether sessions of this kind feed a stream (else they
// read one).
func (k SessionKind) Publishes() bool {
	switch k {
	case SessionWHIP, SessionRTSPPublish, SessionRTSPSource, SessionRelay:
		return true
	}
	return false
}

// Session is one publisher or reader of a stream, by its public id.
type Session struct {
	ID         string
	Kind       SessionKind
	Stream     string
	RemoteAddr string
	Since      time.Time
}

// Sessions lists every publisher and reader that has a public id, oldest
// first: the one catalogue of the gateway's sessions, whatever their
// protocol. A kicked session is gone from it at once.
func (r *Registry) Sessions() []Session {
	var out []Session
	r.mu.Lock()
	for _, s := range r.streams {
		if p := s.publisher.Load(); p != nil && p.info.SessionID != "" {
			out = append(out, Session{ID: p.info.SessionID, Kind: p.info.Kind, Stream: s.Name,
				RemoteAddr: p.info.RemoteAddr, Since: p.since})
		}
		for sub := range s.subsSet {
			if sub.info.SessionID != "" {
				out = append(out, Session{ID: sub.info.SessionID, Kind: sub.info.Kind, Stream: s.Name,
					RemoteAddr: sub.info.RemoteAddr, Since: sub.since})
			}
		}
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Kick ends the session whose public id is sessionID, be it a stream's
// publisher or one of its readers, as if an operator had cut it. The session
// leaves the stream before Kick returns: a publisher's readers wait for the
// grace period as if it had left, a reader's Run returns ErrKicked. Its
// owner is told (Publisher.Kick, Subscription.Done) and closes the
// connection right after. It reports whether such a session was found.
func (r *Registry) Kick(sessionID string) bool {
	if sessionID == "" {
		return false
	}
	r.mu.Lock()
	var pub *Publication
	var sub *Subscription
	for _, s := range r.streams {
		if p := s.publisher.Load(); p != nil && p.info.SessionID == sessionID {
			pub = p
			break
		}
		for ss := range s.subsSet {
			if ss.info.SessionID == sessionID {
				sub = ss
				break
			}
		}
		if sub != nil {
			break
		}
	}
	r.mu.Unlock()
	switch {
	case pub != nil:
		if !pub.closed.Swap(true) {
			r.unpublish(pub)
		}
		pub.pub.Kick(ErrKicked)
		return true
	case sub != nil:
		sub.end(ErrKicked)
		r.unsubscribe(sub)
		return true
	}
	return false
}
