package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Keys and the event channel in Redis. One Redis database holds one
// cluster; a second cluster uses another database (the URL's /db).
const (
	keyNode    = "wishgate:node:"   // + node id: the heartbeat (JSON nodeRecord)
	keyStream  = "wishgate:stream:" // + stream name: the ownership lease (JSON lease)
	keySource  = "wishgate:source:" // + stream name: who pulls the camera (node id)
	keyChannel = "wishgate:events"  // pub/sub: JSON event
	// scanPages bounds a listing's SCAN loop (100 keys a page).
	scanPages = 200
)

// errRedis wraps every failed Redis call; redis.Nil (no such key) is not
// a failure and never wrapped.
var errRedis = errors.New("redis")

// store is the Redis side: every call is bounded by timeout, and the store
// knows whether Redis answers (up), logging each change once.
type store struct {
	rdb     *redis.Client
	timeout time.Duration
	log     *slog.Logger

	up       atomic.Bool
	known    atomic.Bool // up has been decided by a call
	mu       sync.Mutex  // orders state-change logs
	onChange func(up bool)

	errs atomic.Uint64
	lat  latency
}

func newStore(rawURL string, timeout time.Duration, log *slog.Logger) (*store, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, errors.New("cluster_redis_url does not parse") // never echo: it may hold a password
	}
	opt.DialTimeout = timeout
	opt.ReadTimeout = timeout
	opt.WriteTimeout = timeout
	opt.ContextTimeoutEnabled = true
	opt.PoolTimeout = timeout
	opt.MaxRetries = 1
	opt.PoolSize = 8
	opt.MinIdleConns = 0
	opt.Protocol = 2           // RESP2: every Redis and Valkey speaks it
	opt.DisableIdentity = true // no CLIENT SETINFO (Redis < 7.2 refuses it)
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return &store{rdb: redis.NewClient(opt), timeout: timeout, log: log}, nil
}

func (s *store) close() error { return s.rdb.Close() }

// do runs one bounded call and records its outcome.
func (s *store) do(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	s.lat.observe(time.Since(start))
	if err != nil && ctx.Err() == context.Canceled {
		return fmt.Errorf("%w: %v", errRedis, err) // our caller gave up (shutdown): says nothing of Redis
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		s.errs.Add(1)
		s.setUp(false, err)
		return fmt.Errorf("%w: %v", errRedis, err)
	}
	s.setUp(true, nil)
	return err
}

// setUp records whether Redis answers; a change is logged once and
// reported to onChange (outside the lock, on the caller's goroutine).
// The first outcome is a change too (from not known), so a node that
// cannot reach Redis at start says why.
func (s *store) setUp(up bool, cause error) {
	if s.known.Load() && s.up.Load() == up {
		return
	}
	s.mu.Lock()
	first := !s.known.Swap(true)
	changed := s.up.CompareAndSwap(!up, up)
	s.mu.Unlock()
	if !changed && !first {
		return
	}
	if up {
		s.log.Info("cluster directory (Redis) reachable")
	} else {
		s.log.Warn("cluster directory (Redis) unreachable: serving own streams and running relays only", "error", cause)
	}
	if s.onChange != nil {
		s.onChange(up)
	}
}

// scan lists the keys with prefix, bounded in pages.
func (s *store) scan(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	var cursor uint64
	for range scanPages {
		var page []string
		err := s.do(ctx, func(ctx context.Context) error {
			var err error
			page, cursor, err = s.rdb.Scan(ctx, cursor, prefix+"*", 100).Result()
			return err
		})
		if err != nil {
			return nil, err
		}
		keys = append(keys, page...)
		if cursor == 0 {
			break
		}
	}
	return keys, nil
}

// mget reads keys; a missing (expired) key is an empty string.
func (s *store) mget(ctx context.Context, keys []string) ([]string, error) {
	out := make([]string, len(keys))
	for start := 0; start < len(keys); start += 100 {
		end := min(start+100, len(keys))
		var vals []any
		err := s.do(ctx, func(ctx context.Context) error {
			var err error
			vals, err = s.rdb.MGet(ctx, keys[start:end]...).Result()
			return err
		})
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			if str, ok := v.(string); ok {
				out[start+i] = str
			}
		}
	}
	return out, nil
}

// get reads one key; ok is false when it does not exist.
func (s *store) get(ctx context.Context, key string) (val string, ok bool, err error) {
	err = s.do(ctx, func(ctx context.Context) error {
		var err error
		val, err = s.rdb.Get(ctx, key).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	return val, err == nil, err
}

// run evaluates a script and returns its result.
func (s *store) run(ctx context.Context, sc *redis.Script, keys []string, args ...any) (any, error) {
	var res any
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		res, err = sc.Run(ctx, s.rdb, keys, args...).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return res, err
}

// publish sends one event to every node.
func (s *store) publish(ctx context.Context, payload string) error {
	return s.do(ctx, func(ctx context.Context) error { return s.rdb.Publish(ctx, keyChannel, payload).Err() })
}

// del removes keys.
func (s *store) del(ctx context.Context, keys ...string) error {
	return s.do(ctx, func(ctx context.Context) error { return s.rdb.Del(ctx, keys...).Err() })
}

// redisLog carries go-redis's own messages (a dial failing during an
// outage, on every attempt) to debug level: the node logs each change of
// Redis's reachability once itself.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "component", "go-redis")
}

// QuietRedisLog routes go-redis's process-wide logger to log at debug
// level. Call it once at start-up, before any node exists (cmd/gateway).
func QuietRedisLog(log *slog.Logger) { redis.SetLogger(redisLog{log: log}) }
