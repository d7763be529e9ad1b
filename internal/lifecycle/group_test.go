package lifecycle

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGroup(t *testing.T) {
	var g Group
	started := make(chan struct{})
	ended := make(chan struct{})
	if !g.Go(func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(ended)
	}) {
		t.Fatal("Go refused on an open group")
	}
	<-started
	g.Close()
	select {
	case <-ended:
	default:
		t.Fatal("Close returned before the goroutine ended")
	}
	if g.Go(func(context.Context) { t.Error("ran after Close") }) {
		t.Error("Go accepted after Close")
	}
	g.Close() // idempotent

	var never Group
	never.Close() // closing an unused group returns at once
}
