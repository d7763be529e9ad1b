package streams

// Kick ends the session whose public id is sessionID, be it a stream's
// publisher or one of its subscribers, as if an operator had cut it: the
// publisher is told through Publisher.Kick (its session then closes and
// leaves), a subscriber's Run returns ErrKicked (its owner then closes the
// session). It reports whether such a session was found; the session ends
// asynchronously. Sessions without an id cannot be kicked this way.
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
		pub.pub.Kick(ErrKicked)
		return true
	case sub != nil:
		sub.end(ErrKicked)
		return true
	}
	return false
}
