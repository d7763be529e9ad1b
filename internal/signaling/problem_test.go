package signaling

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/rtc"
)

// TestStatusOfHostileInput: what a stranger can provoke maps to a 4xx, or
// to 503 when the gateway could not finish in time; never to 500.
func TestStatusOfHostileInput(t *testing.T) {
	for err, want := range map[error]int{
		&rtc.CandidateLimitError{Limit: 32, Have: 32, New: 1}:                   http.StatusUnprocessableEntity,
		fmt.Errorf("%w: m-line 0 has more than 16 a=rtcp-fb", rtc.ErrMalformed): http.StatusBadRequest,
		fmt.Errorf("%w: gathering", rtc.ErrNegotiationTimeout):                  http.StatusServiceUnavailable,
		fmt.Errorf("demand: %w", context.DeadlineExceeded):                      http.StatusServiceUnavailable,
		fmt.Errorf("client gone: %w", context.Canceled):                         http.StatusServiceUnavailable,
		ErrBodyTimeout: http.StatusRequestTimeout,
		fmt.Errorf("%w: reset", ErrBodyUnreadable): http.StatusBadRequest,
	} {
		if got := statusOf(err); got != want {
			t.Errorf("%v: %d, want %d", err, got, want)
		}
	}
}

func TestNegotiationTimeoutIs503WithRetryAfter(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/whep/x", nil), rec)
	if err := s.writeError(c, fmt.Errorf("%w: gathering candidates: context deadline exceeded", rtc.ErrNegotiationTimeout)); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
		rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}
