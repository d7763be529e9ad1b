package streams

import "errors"

var (
	// ErrNotLive: the stream has no publisher (WHEP answers 409 + Retry-After).
	ErrNotLive = errors.New("stream is not live")
	// ErrConflict: the stream has a healthy publisher and the replace policy keeps it.
	ErrConflict = errors.New("stream already has an active publisher")
	// ErrClosed: the registry or the stream was closed.
	ErrClosed = errors.New("closed")
	// ErrReplaced: a newer publisher took the stream over.
	ErrReplaced = errors.New("replaced by a new publisher")
	// ErrPublisherGone: the publisher left and did not come back within the grace period.
	ErrPublisherGone = errors.New("publisher gone")
	// ErrCodecChanged: the new publisher's codecs differ from what the subscriber negotiated.
	ErrCodecChanged = errors.New("publisher changed codecs")
	// ErrKicked: an operator or the stream's deletion ended the session.
	ErrKicked = errors.New("session ended by the server")
	// ErrNoLayer: a layer choice names a rid the stream does not have
	// (422 at the WHEP edge).
	ErrNoLayer = errors.New("no such layer")
	// ErrBadLayer: a layer choice that is no layer name at all (400).
	ErrBadLayer = errors.New("bad layer choice")
)

var errBadPadding = errors.New("rtp: invalid padding")
