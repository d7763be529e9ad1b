package streams

// EventType names a registry event.
type EventType string

const (
	EventPublished   EventType = "published"
	EventUnpublished EventType = "unpublished"
	EventSubscribed  EventType = "subscribed"
	EventLeft        EventType = "left" // a subscriber left
	EventRemoved     EventType = "removed"
)

// Event reports a change of a stream's publisher.
type Event struct {
	Type     EventType
	Stream   string
	Replaced bool // Published: an earlier publisher was replaced
	// Subscribers is the stream's subscriber count after the event.
	Subscribers int
}

// OnEvent registers fn to be called after each event, outside the registry's
// lock, on the goroutine that caused it. Register hooks before use.
func (r *Registry) OnEvent(fn func(Event)) {
	r.mu.Lock()
	r.hooks = append(r.hooks, fn)
	r.mu.Unlock()
}

func (r *Registry) emit(e Event) {
	r.mu.Lock()
	hooks := r.hooks
	r.mu.Unlock()
	for _, fn := range hooks {
		fn(e)
	}
}
