package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Content types of the WHIP/WHEP contract.
const (
	contentTypeSDP     = "application/sdp"
	contentTypeSDPFrag = "application/trickle-ice-sdpfrag"
)

// Body size limits: an SDP answer is a few KiB; error bodies only need to be
// long enough to be useful in a test failure.
const (
	maxSDPBody   = 1 << 20
	maxErrorBody = 64 << 10
)

// signaler performs the HTTP side of one session: the POST that creates the
// resource, then PATCH/DELETE on the Location it returned. It remembers the
// current ETag because every PATCH must carry it (If-Match).
type signaler struct {
	client    *http.Client
	transport *http.Transport // non-nil when we own client and must close it
	token     string
	header    http.Header
	endpoint  *url.URL
	weakETag  bool

	mu         sync.Mutex
	location   *url.URL
	etag       string
	respHeader http.Header
}

func newSignaler(endpoint string, o *Options) (*signaler, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("client: endpoint: %w", err)
	}
	if !u.IsAbs() {
		return nil, fmt.Errorf("client: endpoint %q is not an absolute URL", endpoint)
	}
	s := &signaler{client: o.HTTPClient, token: o.Token, header: o.Header, endpoint: u, weakETag: o.AcceptWeakETag}
	if s.client == nil {
		s.transport = http.DefaultTransport.(*http.Transport).Clone()
		s.client = &http.Client{Transport: s.transport, CheckRedirect: RedirectPolicy(o.Token)}
	}
	return s, nil
}

// RedirectPolicy follows up to 10 redirects, as net/http does, and sends
// the bearer token again on each: net/http drops Authorization when the
// redirect leaves the host, and a full gateway redirects a POST to
// another node of its cluster (307, RFC 9725 §4.5).
func RedirectPolicy(token string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("client: stopped after %d redirects", len(via))
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
}

// close releases the private HTTP client's idle connections.
func (s *signaler) close() {
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
}

func (s *signaler) Location() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.location == nil {
		return ""
	}
	return s.location.String()
}

func (s *signaler) ETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

func (s *signaler) ResponseHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.respHeader.Clone()
}

// do sends one request and reads the whole (bounded) body, so connections
// are reused and callers never juggle resp.Body.
func (s *signaler) do(ctx context.Context, method, target, contentType, body string, hdr map[string]string) (*http.Request, *http.Response, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client: %s %s: %w", method, target, err)
	}
	for k, vs := range s.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client: %s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	limit := int64(maxErrorBody)
	if resp.StatusCode/100 == 2 {
		limit = maxSDPBody
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client: %s %s: reading body: %w", method, target, err)
	}
	// Drain the rest so the keep-alive connection can be reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	return req, resp, data, nil
}

// postOffer creates the resource and returns the SDP answer. On success the
// Location and ETag are recorded. If the resource was created but the
// response breaks the contract, Location is still recorded (when present)
// so the caller can DELETE it.
func (s *signaler) postOffer(ctx context.Context, offer string) (string, error) {
	req, resp, body, err := s.do(ctx, http.MethodPost, s.endpoint.String(), contentTypeSDP, offer, nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", newHTTPError(req, resp, body)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("%w: 201 without Location", ErrProtocol)
	}
	// Relative to the URL that answered: a redirect (307) may have moved
	// the POST to another gateway.
	locURL, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("%w: bad Location %q: %v", ErrProtocol, loc, err)
	}
	s.mu.Lock()
	s.location = locURL
	s.respHeader = resp.Header.Clone()
	s.mu.Unlock()

	if mt := mediaType(resp.Header); mt != contentTypeSDP {
		return "", fmt.Errorf("%w: 201 with Content-Type %q, want %s", ErrProtocol, resp.Header.Get("Content-Type"), contentTypeSDP)
	}
	etag := resp.Header.Get("ETag")
	if err := s.checkETag(etag); err != nil {
		return "", err
	}
	if len(body) == 0 {
		return "", fmt.Errorf("%w: 201 with empty answer", ErrProtocol)
	}
	s.mu.Lock()
	s.etag = etag
	s.mu.Unlock()
	return string(body), nil
}

// checkETag enforces the contract's strong, quoted entity tag (unless
// Options.AcceptWeakETag).
func (s *signaler) checkETag(etag string) error {
	if s.weakETag {
		return nil
	}
	if len(etag) < 2 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		return fmt.Errorf("%w: ETag %q is not a strong quoted entity tag", ErrProtocol, etag)
	}
	return nil
}

// trickle PATCHes a trickle-ice-sdpfrag with If-Match: <current ETag> and
// expects 204.
func (s *signaler) trickle(ctx context.Context, frag string) error {
	loc := s.Location()
	if loc == "" {
		return fmt.Errorf("client: no session resource")
	}
	req, resp, body, err := s.do(ctx, http.MethodPatch, loc, contentTypeSDPFrag, frag, map[string]string{"If-Match": s.ETag()})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNoContent {
		return newHTTPError(req, resp, body)
	}
	return nil
}

// restart PATCHes an ICE-restart sdpfrag with If-Match: * and expects 200
// with the server's new credentials and a new ETag, which is recorded.
func (s *signaler) restart(ctx context.Context, frag string) (string, error) {
	loc := s.Location()
	if loc == "" {
		return "", fmt.Errorf("client: no session resource")
	}
	req, resp, body, err := s.do(ctx, http.MethodPatch, loc, contentTypeSDPFrag, frag, map[string]string{"If-Match": "*"})
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", newHTTPError(req, resp, body)
	}
	if mt := mediaType(resp.Header); mt != contentTypeSDPFrag {
		return "", fmt.Errorf("%w: ICE restart 200 with Content-Type %q, want %s", ErrProtocol, resp.Header.Get("Content-Type"), contentTypeSDPFrag)
	}
	etag := resp.Header.Get("ETag")
	if err := s.checkETag(etag); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.etag = etag
	s.mu.Unlock()
	return string(body), nil
}

// delete sends DELETE to the Location and expects 200.
func (s *signaler) delete(ctx context.Context) (int, error) {
	loc := s.Location()
	if loc == "" {
		return 0, fmt.Errorf("client: no session resource")
	}
	req, resp, body, err := s.do(ctx, http.MethodDelete, loc, "", "", nil)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, newHTTPError(req, resp, body)
	}
	return resp.StatusCode, nil
}
