package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// The WHEP core extensions: video layer selection and server-sent events
// (the WISH working group's "WebRTC-HTTP Egress Protocol Core Extensions",
// wish-wg/webrtc-http-egress-protocol webrtc-http-egress-events.md,
// revision of commit 440b8bea; not adopted into draft-ietf-wish-whep).
// Both live under a WHEP session's resource URL, so the URL's secret is
// what authorises them, as for PATCH and DELETE:
//
//	POST   /whep/NAME/-/SECRET/layer      choose a layer ({"encodingId": RID}, {} = automatic)
//	POST   /whep/NAME/-/SECRET/sse        create an event stream ([event names]) → 201 Location
//	GET    /whep/NAME/-/SECRET/sse/ID     the event stream (text/event-stream)
//	DELETE /whep/NAME/-/SECRET/sse/ID     end it
//	GET    /whep/NAME/-/SECRET/sse        every event at once, without a POST (as Broadcast Box serves)
const (
	relLayer = "urn:ietf:params:whep:ext:core:layer"
	relSSE   = "urn:ietf:params:whep:ext:core:server-sent-events"
)

const typeJSON = "application/json"

// maxExtBody caps a layer or event-stream request: a few fields.
const maxExtBody = 4 << 10

// LayerRequest is a layer extension POST.
type LayerRequest struct {
	// MediaID names the m-line (its index in the offer, or its mid); ""
	// for the first video m-line.
	MediaID string
	// RID is the encoding wanted (the draft's "rid", Broadcast Box's
	// "encodingId"); "" asks for the automatic choice.
	RID                 string
	MaxWidth, MaxHeight int
}

// LayerSelector is a WHEP resource whose video layer can be chosen.
type LayerSelector interface {
	// Layered reports whether there is a choice: the video has layers.
	Layered() bool
	SelectLayer(LayerRequest) error
}

// Event is the state of one kind of server-sent event (EventSource).
type Event struct {
	Type string // the SSE event name
	// Group holds events that stand for one state: a change of Type within
	// it ("active" to "inactive") is sent as well.
	Group string
	// Key is what a change is judged by: a new Key is sent at once, Data
	// changing under the same Key at most every sseRefresh (a bitrate).
	Key  string
	Data []byte // one line of JSON
}

// EventSource is a WHEP resource with server-sent events.
type EventSource interface {
	// EventTypes lists the events it can send.
	EventTypes() []string
	// Events returns the current state of each group.
	Events() []Event
}

// ErrLayerUnsupported: a layer request the gateway cannot serve (spatial or
// temporal layers, which need SVC; another m-line than the video) (422).
var ErrLayerUnsupported = errors.New("unsupported layer request")

// ErrBadJSON: an extension body that is not the JSON it must be (400).
var ErrBadJSON = errors.New("malformed JSON")

// extLinks adds the extension Link fields to a WHEP 201.
func (s *Server) extLinks(h http.Header, path string, res Resource) {
	if es, ok := res.(EventSource); ok {
		h.Add("Link", "<"+path+`/sse>; rel="`+relSSE+`"; events="`+strings.Join(es.EventTypes(), ",")+`"`)
	}
	if ls, ok := res.(LayerSelector); ok && ls.Layered() {
		h.Add("Link", "<"+path+`/layer>; rel="`+relLayer+`"`)
	}
}

// extension serves a request on a session resource's sub-path.
func (s *Server) extension(c echo.Context, prefix, name, secret, sub string) error {
	e, err := s.lookup(prefix, name, secret)
	if err != nil || ended(e.res) || prefix != "whep" {
		return s.writeError(c, ErrNotFound)
	}
	method := c.Request().Method
	if method == http.MethodOptions {
		return c.NoContent(http.StatusNoContent)
	}
	switch {
	case sub == "layer":
		ls, ok := e.res.(LayerSelector)
		if !ok {
			return s.writeError(c, ErrNotFound)
		}
		if method != http.MethodPost {
			return s.notAllowed("OPTIONS, POST")(c, name, secret)
		}
		return s.limited(func(c echo.Context, _, _ string) error { return s.selectLayer(c, e, ls) })(c, name, secret)
	case sub == "sse" || strings.HasPrefix(sub, "sse/"):
		es, ok := e.res.(EventSource)
		if !ok {
			return s.writeError(c, ErrNotFound)
		}
		return s.events(c, e, es, secret, strings.TrimPrefix(strings.TrimPrefix(sub, "sse"), "/"))
	}
	return s.writeError(c, ErrNotFound)
}

// selectLayer reads a layer extension POST. The draft's fields are rid
// (Broadcast Box: encodingId), mediaId, maxWidth, maxHeight, and the SVC
// ones (spatialLayerId, temporalLayerId and their max), which the gateway
// cannot serve: it selects simulcast encodings, not SVC layers. Unknown
// fields are ignored, as the draft asks of event data. The answer is 200
// with the layers event's data.
func (s *Server) selectLayer(c echo.Context, e *entry, ls LayerSelector) error {
	c.Response().Header().Set("Accept-Post", typeJSON)
	body, err := s.readBodyLimit(c, typeJSON, maxExtBody)
	if err != nil {
		return s.writeError(c, err)
	}
	var in struct {
		MediaID            json.RawMessage `json:"mediaId"`
		RID                *string         `json:"rid"`
		EncodingID         *string         `json:"encodingId"`
		SpatialLayerID     json.RawMessage `json:"spatialLayerId"`
		TemporalLayerID    json.RawMessage `json:"temporalLayerId"`
		MaxSpatialLayerID  json.RawMessage `json:"maxSpatialLayerId"`
		MaxTemporalLayerID json.RawMessage `json:"maxTemporalLayerId"`
		MaxWidth           *int            `json:"maxWidth"`
		MaxHeight          *int            `json:"maxHeight"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return s.writeError(c, fmt.Errorf("%w: the layer request is a JSON object: %v", ErrBadJSON, err))
	}
	for _, svc := range []json.RawMessage{in.SpatialLayerID, in.TemporalLayerID, in.MaxSpatialLayerID, in.MaxTemporalLayerID} {
		if len(svc) > 0 && string(svc) != "null" {
			return s.writeError(c, fmt.Errorf("%w: spatial and temporal layers are SVC; this gateway selects simulcast encodings by rid", ErrLayerUnsupported))
		}
	}
	var req LayerRequest
	if len(in.MediaID) > 0 && string(in.MediaID) != "null" {
		var id any
		if err := json.Unmarshal(in.MediaID, &id); err != nil {
			return s.writeError(c, fmt.Errorf("%w: mediaId: %v", ErrBadJSON, err))
		}
		switch v := id.(type) {
		case string:
			req.MediaID = v
		case float64:
			req.MediaID = fmt.Sprint(v)
		default:
			return s.writeError(c, fmt.Errorf("%w: mediaId is a string", ErrBadJSON))
		}
	}
	switch {
	case in.RID != nil && in.EncodingID != nil && *in.RID != *in.EncodingID:
		return s.writeError(c, fmt.Errorf("%w: rid %q and encodingId %q name different layers", ErrBadJSON, *in.RID, *in.EncodingID))
	case in.RID != nil:
		req.RID = *in.RID
	case in.EncodingID != nil:
		req.RID = *in.EncodingID
	}
	for _, v := range []*int{in.MaxWidth, in.MaxHeight} {
		if v != nil && *v < 0 {
			return s.writeError(c, fmt.Errorf("%w: maxWidth and maxHeight are not negative", ErrBadJSON))
		}
	}
	if in.MaxWidth != nil {
		req.MaxWidth = *in.MaxWidth
	}
	if in.MaxHeight != nil {
		req.MaxHeight = *in.MaxHeight
	}
	if err := ls.SelectLayer(req); err != nil {
		return s.writeError(c, err)
	}
	if es, ok := e.res.(EventSource); ok {
		for _, ev := range es.Events() {
			if ev.Type == "layers" {
				return c.Blob(http.StatusOK, typeJSON, ev.Data)
			}
		}
	}
	return c.Blob(http.StatusOK, typeJSON, []byte("{}"))
}
