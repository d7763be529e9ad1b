package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/rtc"
)

// Server-sent events (WHEP core extensions): a player POSTs the events it
// wants to the Link's URL and reads the text/event-stream at the Location
// it gets back. The stream is polled from the resource (EventSource) once
// a second and an event goes out when its state changed, so the cost is
// bounded by the number of open streams, not by what happens in the stream.
const (
	// maxEventStreams bounds one session's event streams.
	maxEventStreams = 4
	ssePoll         = time.Second
	// sseRefresh: an event whose data changes under the same key (a
	// layer's bitrate) goes out at most this often.
	sseRefresh = 10 * time.Second
	// sseKeepAlive: a comment line this often, so proxies and players see
	// the stream alive.
	sseKeepAlive = 15 * time.Second
	// sseWriteTimeout bounds each write: a reader that stops reading is
	// dropped.
	sseWriteTimeout = 10 * time.Second
)

// eventStream is one created event stream of a session.
type eventStream struct {
	secret string
	types  []string
	mu     sync.Mutex
	reader chan struct{} // closed to end the GET reading it (a newer GET, DELETE)
	gone   bool
}

// take makes the caller the stream's reader, ending any previous one.
func (es *eventStream) take() (chan struct{}, bool) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.gone {
		return nil, false
	}
	if es.reader != nil {
		close(es.reader)
	}
	es.reader = make(chan struct{})
	return es.reader, true
}

func (es *eventStream) release(ch chan struct{}) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.reader == ch {
		close(ch)
		es.reader = nil
	}
}

func (es *eventStream) end() {
	es.mu.Lock()
	defer es.mu.Unlock()
	es.gone = true
	if es.reader != nil {
		close(es.reader)
		es.reader = nil
	}
}

// endEventStreams ends a finished session's event streams.
func (s *Server) endEventStreams(secret string) {
	s.mu.Lock()
	var ended []*eventStream
	for id, es := range s.sse {
		if es.secret == secret {
			ended = append(ended, es)
			delete(s.sse, id)
		}
	}
	s.mu.Unlock()
	for _, es := range ended {
		es.end()
	}
}

// events serves the SSE entry point (id "") and the streams under it.
func (s *Server) events(c echo.Context, e *entry, src EventSource, secret, id string) error {
	method := c.Request().Method
	switch {
	case id == "" && method == http.MethodPost:
		return s.limited(func(c echo.Context, _, _ string) error { return s.createEvents(c, e, src, secret) })(c, e.stream, secret)
	case id == "" && method == http.MethodGet:
		// No POST first (Broadcast Box's players): every event, on a
		// stream of this request's own.
		es := &eventStream{secret: secret, types: src.EventTypes()}
		if !s.addEventStream(rtc.RandomToken(8), es) {
			return s.writeError(c, fmt.Errorf("%w: %d event streams already open for this session", ErrTooManySessions, maxEventStreams))
		}
		defer s.endEventStream(secret, es)
		return s.serveEvents(c, e, src, es)
	case id == "":
		return s.notAllowed("OPTIONS, GET, POST")(c, e.stream, secret)
	}
	s.mu.Lock()
	es := s.sse[id]
	s.mu.Unlock()
	if es == nil || es.secret != secret {
		return s.writeError(c, ErrNotFound)
	}
	switch method {
	case http.MethodGet:
		return s.serveEvents(c, e, src, es)
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.sse, id)
		s.mu.Unlock()
		es.end()
		return c.NoContent(http.StatusOK)
	}
	return s.notAllowed("OPTIONS, GET, DELETE")(c, e.stream, secret)
}

// createEvents: the body, if any, is a JSON array of the wanted events'
// names, each one the resource offers (400 otherwise); none means all.
func (s *Server) createEvents(c echo.Context, e *entry, src EventSource, secret string) error {
	c.Response().Header().Set("Accept-Post", typeJSON)
	types := src.EventTypes()
	if c.Request().ContentLength != 0 {
		body, err := s.readBodyLimit(c, typeJSON, maxExtBody)
		if err != nil {
			return s.writeError(c, err)
		}
		if len(bytes.TrimSpace(body)) > 0 {
			var want []string
			if err := json.Unmarshal(body, &want); err != nil {
				return s.writeError(c, fmt.Errorf("%w: the events are a JSON array of names: %v", ErrBadJSON, err))
			}
			for _, t := range want {
				if !slices.Contains(types, t) {
					return s.writeError(c, fmt.Errorf("%w: no event %q here (there are %s)", ErrBadJSON, t, strings.Join(types, ", ")))
				}
			}
			if len(want) > 0 {
				types = want
			}
		}
	}
	id := rtc.RandomToken(8)
	if !s.addEventStream(id, &eventStream{secret: secret, types: types}) {
		return s.writeError(c, fmt.Errorf("%w: %d event streams already open for this session", ErrTooManySessions, maxEventStreams))
	}
	c.Response().Header().Set("Location", SessionPath(e.prefix, e.stream, secret)+"/sse/"+id)
	return c.NoContent(http.StatusCreated)
}

func (s *Server) addEventStream(id string, es *eventStream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range s.sse {
		if o.secret == es.secret {
			n++
		}
	}
	if n >= maxEventStreams || s.closing {
		return false
	}
	s.sse[id] = es
	return true
}

func (s *Server) endEventStream(secret string, es *eventStream) {
	s.mu.Lock()
	for id, o := range s.sse {
		if o == es {
			delete(s.sse, id)
		}
	}
	s.mu.Unlock()
	es.end()
}

// serveEvents writes es until the session ends, the server closes, the
// reader goes away, or another GET or a DELETE takes the stream.
func (s *Server) serveEvents(c echo.Context, e *entry, src EventSource, es *eventStream) error {
	stop, ok := es.take()
	if !ok {
		return s.writeError(c, ErrNotFound)
	}
	defer es.release(stop)
	w := c.Response()
	rc := http.NewResponseController(w.Writer)
	// The request is read; the stream lasts as long as the session.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	// Reconnect after 2 s, not the browser's default of 3.
	if err := write([]byte("retry: 2000\n\n")); err != nil {
		return nil
	}
	type sent struct {
		typ, key string
		data     []byte
		at       time.Time
	}
	last := map[string]sent{}
	poll := time.NewTicker(ssePoll)
	defer poll.Stop()
	lastWrite := time.Now()
	for {
		now := time.Now()
		var out bytes.Buffer
		for _, ev := range src.Events() {
			if !slices.Contains(es.types, ev.Type) {
				continue
			}
			prev, seen := last[ev.Group]
			changed := !seen || prev.typ != ev.Type || prev.key != ev.Key ||
				!bytes.Equal(prev.data, ev.Data) && now.Sub(prev.at) >= sseRefresh
			if !changed {
				continue
			}
			if !seen && ev.Type == "inactive" {
				// Not at the start: the draft sends inactive only after
				// an active.
				last[ev.Group] = sent{typ: ev.Type, key: ev.Key, data: ev.Data, at: now}
				continue
			}
			last[ev.Group] = sent{typ: ev.Type, key: ev.Key, data: ev.Data, at: now}
			fmt.Fprintf(&out, "event: %s\ndata: %s\n\n", ev.Type, bytes.ReplaceAll(ev.Data, []byte("\n"), nil))
		}
		if out.Len() == 0 && now.Sub(lastWrite) >= sseKeepAlive {
			out.WriteString(": keep-alive\n\n")
		}
		if out.Len() > 0 {
			if err := write(out.Bytes()); err != nil {
				return nil // the reader is gone
			}
			lastWrite = now
		}
		select {
		case <-poll.C:
		case <-stop:
			return nil
		case <-e.res.Done():
			return nil
		case <-c.Request().Context().Done():
			return nil
		case <-s.quit:
			return nil
		}
	}
}
