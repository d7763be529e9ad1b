package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
)

// ErrProtocol marks a response that has the expected status but breaks the
// gateway's contract (wrong Content-Type, missing Location or ETag, ...).
// Such errors wrap ErrProtocol; test with errors.Is.
var ErrProtocol = errors.New("client: protocol violation")

// Problem is an RFC 9457 problem document, the gateway's error body
// (Content-Type application/problem+json).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// HTTPError is returned when the gateway answers with an unexpected status.
// Tests use it to assert status codes and headers (e.g. 409 + Retry-After).
type HTTPError struct {
	Method string
	URL    string
	Status int
	Header http.Header
	// Problem is decoded when the body is application/problem+json.
	Problem Problem
	// Body is the raw response body (truncated to 64 KiB).
	Body string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("client: %s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	switch {
	case e.Problem.Title != "" && e.Problem.Detail != "":
		msg += ": " + e.Problem.Title + ": " + e.Problem.Detail
	case e.Problem.Title != "":
		msg += ": " + e.Problem.Title
	case e.Problem.Detail != "":
		msg += ": " + e.Problem.Detail
	case e.Body != "":
		msg += ": " + truncate(e.Body, 200)
	}
	return msg
}

// HTTPStatus returns the status carried by an *HTTPError in err's chain, or
// 0 if there is none.
func HTTPStatus(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// newHTTPError builds an *HTTPError from a response whose body was read.
func newHTTPError(req *http.Request, resp *http.Response, body []byte) *HTTPError {
	e := &HTTPError{
		Method: req.Method,
		URL:    req.URL.String(),
		Status: resp.StatusCode,
		Header: resp.Header.Clone(),
		Body:   string(body),
	}
	if mediaType(resp.Header) == "application/problem+json" {
		// A malformed problem document still yields the HTTPError; the raw
		// body stays available for the test to report.
		_ = json.Unmarshal(body, &e.Problem)
	}
	return e
}

// mediaType returns the lower-cased media type of the Content-Type header,
// without parameters, or "" if absent or malformed.
func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
