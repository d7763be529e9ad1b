// Package lifecycle owns goroutines that live until their owner closes.
package lifecycle

import (
	"context"
	"sync"
)

// Group runs goroutines with a shared context that Close cancels, then
// waits for. The zero value is ready to use; Close is idempotent, and Go
// after Close runs nothing.
type Group struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	closed bool
	wg     sync.WaitGroup
}

func (g *Group) initLocked() {
	if g.ctx == nil {
		g.ctx, g.cancel = context.WithCancel(context.Background())
	}
}

// Go runs fn in a goroutine the group owns; fn must return once ctx is
// done. It reports false, running nothing, once the group is closed.
func (g *Group) Go(fn func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.initLocked()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn(g.ctx)
	}()
	return true
}

// Close cancels the group's context and waits for every goroutine.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	g.initLocked()
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
}
