package cluster

import (
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

// lease is the value of a stream's ownership key: which node publishes it,
// where to pull it from, and its tracks (what a relay offers).
type lease struct {
	Node     string     `json:"node"`
	Instance string     `json:"instance"` // the owner's process, to tell a restart
	URL      string     `json:"url"`
	Since    time.Time  `json:"since"`   // when its publisher attached (split-brain rule)
	Healthy  bool       `json:"healthy"` // media within the health window at the last renewal
	Tracks   []trackRec `json:"tracks"`
}

type trackRec struct {
	Kind      string `json:"kind"`
	MimeType  string `json:"mime"`
	ClockRate uint32 `json:"clock"`
	Channels  uint16 `json:"channels,omitempty"`
	Fmtp      string `json:"fmtp,omitempty"`
}

// trackRecs describes tracks as WebRTC readers of the owner get them: a
// track WebRTC cannot play that the owner converts (a camera's AAC) is
// recorded as its conversion's codec (Opus), which the owner's WHEP
// endpoint serves to a relay as to any viewer. convert is the owner's
// streams.Registry.ConversionTarget.
func trackRecs(specs []streams.TrackSpec, convert func(streams.Codec) (streams.Codec, error)) []trackRec {
	out := make([]trackRec, len(specs))
	for i, s := range specs {
		c := s.Codec
		if codec.WebRTCPlayable(c.MimeType, c.ClockRate, c.Channels) != nil && convert != nil {
			if to, err := convert(c); err == nil {
				c = to
			}
		}
		out[i] = trackRec{Kind: s.Kind.String(), MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels, Fmtp: c.Fmtp}
	}
	return out
}

func (l lease) encode() string {
	b, _ := json.Marshal(l)
	return string(b)
}

func decodeLease(s string) (lease, bool) {
	var l lease
	if s == "" || json.Unmarshal([]byte(s), &l) != nil || l.Node == "" {
		return lease{}, false
	}
	return l, true
}

// Lua scripts run atomically in Redis; cjson is part of every Redis and
// Valkey. Each returns {verdict, previous value}.
var (
	// claimScript takes a stream's lease: free, ours, or another node's
	// under the replace policy (ARGV[4]): "always" takes it, "stale" takes
	// it when the owner reported its publisher unhealthy or missed a
	// renewal (more than ARGV[5] ms since the last), "never" does not.
	// ARGV: node, value, ttl ms, policy, stale ms.
	claimScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return {'new', ''}
end
local ok, l = pcall(cjson.decode, cur)
if not ok or type(l) ~= 'table' or l.node == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return {'own', cur}
end
local take = ARGV[4] == 'always'
if ARGV[4] == 'stale' then
  if not l.healthy then
    take = true
  else
    local left = redis.call('PTTL', KEYS[1])
    if tonumber(ARGV[3]) - left > tonumber(ARGV[5]) then take = true end
  end
end
if take then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return {'took', cur}
end
return {'held', cur}`)

	// renewScript extends our lease (rewriting its value); 0 when it is
	// no longer ours. ARGV: node, value, ttl ms.
	renewScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, l = pcall(cjson.decode, cur)
  if ok and type(l) == 'table' and l.node == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return {'own', cur}
  end
  return {'held', cur}
end
return {'gone', ''}`)

	// releaseScript deletes our lease, never another node's. ARGV: node.
	releaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, l = pcall(cjson.decode, cur)
  if ok and type(l) == 'table' and l.node == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
  end
end
return 0`)

	// casScript replaces the value ARGV[1] ("" = absent) by ARGV[2].
	// ARGV: expected, value, ttl ms.
	casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if (not cur and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`)

	// sourceScript takes or extends a camera's pull right. ARGV: node, ttl ms.
	sourceScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

	// sourceReleaseScript gives our pull right back. ARGV: node.
	sourceReleaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1`)

	// delIfScript deletes the key if it still holds ARGV[1].
	delIfScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

	// releaseHeartbeat deletes our heartbeat, not a successor's. ARGV:
	// instance.
	releaseHeartbeat = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, n = pcall(cjson.decode, cur)
  if ok and type(n) == 'table' and n.instance == ARGV[1] then
    redis.call('DEL', KEYS[1])
  end
end
return 1`)

	// heartbeatScript writes our heartbeat unless another live process
	// (another instance at another URL) uses our id. ARGV: value, instance,
	// url, ttl ms.
	heartbeatScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, n = pcall(cjson.decode, cur)
  if ok and type(n) == 'table' and n.instance ~= ARGV[2] and n.url ~= ARGV[3] then
    return {'held', cur}
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return {'ok', ''}`)
)

// verdict reads a script's {verdict, previous} reply.
func verdict(res any) (string, string) {
	arr, ok := res.([]any)
	if !ok || len(arr) != 2 {
		return "", ""
	}
	v, _ := arr[0].(string)
	prev, _ := arr[1].(string)
	return v, prev
}
