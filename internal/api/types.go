package api

import "time"

// The JSON documents of the API; openapi.yaml describes the same shapes and
// the spec test validates real responses against it.

type itemsJSON[T any] struct {
	Items []T `json:"items"`
}

type streamJSON struct {
	Name             string       `json:"name"`
	State            string       `json:"state"` // live | waiting | reconnecting | idle
	Source           *sourceJSON  `json:"source"`
	Since            time.Time    `json:"since"`
	UptimeSeconds    float64      `json:"uptime_seconds"`
	IngestBitrateBps int64        `json:"ingest_bitrate_bps"`
	Tracks           []trackJSON  `json:"tracks"`
	Readers          []readerJSON `json:"readers"`
	Viewers          viewersJSON  `json:"viewers"`
	// OriginNode is the cluster node that publishes the stream (null
	// outside a cluster or without a publisher).
	OriginNode *string `json:"origin_node"`
}

type sourceJSON struct {
	Kind       string `json:"kind"` // whip | rtsp-source | rtsp-publish | relay
	URL        string `json:"url,omitempty"`
	OriginNode string `json:"origin_node,omitempty"` // relay: the node it pulls from
	RemoteAddr string `json:"remote_addr"`
	SessionID  string `json:"session_id"`
}

type trackJSON struct {
	Index         int       `json:"index"`
	Kind          string    `json:"kind"`
	Codec         string    `json:"codec"`
	ClockRate     uint32    `json:"clock_rate"`
	Channels      uint16    `json:"channels"`
	Fmtp          string    `json:"fmtp"`
	Width         *int      `json:"width"`  // null until a keyframe told
	Height        *int      `json:"height"` // null until a keyframe told
	BitrateBps    int64     `json:"bitrate_bps"`
	Packets       uint64    `json:"packets"`
	Bytes         uint64    `json:"bytes"`
	Lost          uint64    `json:"lost"`
	IngestDropped dropsJSON `json:"ingest_dropped"`
	Keyframes     uint64    `json:"keyframes"`
	// KeyframeAnswers: whether the publisher answers keyframe requests
	// (yes, no, unknown); null for audio.
	KeyframeAnswers *string `json:"keyframe_answers"`
	WebRTCPlayable  bool    `json:"webrtc_playable"`
	Note            string  `json:"note"`
	// Layers of a simulcast track, in the publisher's order; empty otherwise.
	Layers []layerJSON `json:"layers"`
	// Transcode is set when WebRTC viewers get the track transcoded.
	Transcode *transcodeJSON `json:"transcode"`
}

type dropsJSON struct {
	Malformed   uint64 `json:"malformed"`
	Unsupported uint64 `json:"unsupported"`
	Oversized   uint64 `json:"oversized"`
}

type layerJSON struct {
	RID        string `json:"rid"`
	Width      *int   `json:"width"`  // null until a keyframe told
	Height     *int   `json:"height"` // null until a keyframe told
	BitrateBps int64  `json:"bitrate_bps"`
	Packets    uint64 `json:"packets"`
	Bytes      uint64 `json:"bytes"`
	Keyframes  uint64 `json:"keyframes"`
	Active     bool   `json:"active"`
}

// readerLayerJSON is a reader's layer of the stream's simulcast video.
type readerLayerJSON struct {
	RID      string  `json:"rid"`
	Target   *string `json:"target"` // the layer being switched to; null when settled
	Choice   string  `json:"choice"` // auto | high | medium | low | a rid
	Switches uint64  `json:"switches"`
}

// transcodeJSON describes a track WebRTC viewers get transcoded.
type transcodeJSON struct {
	From       string  `json:"from"`     // "AAC", "G.711", "L16"
	To         string  `json:"to"`       // "Opus"
	ToCodec    string  `json:"to_codec"` // "opus/48000/2"
	Running    bool    `json:"running"`
	Readers    int     `json:"readers"`
	Starts     uint64  `json:"starts"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Packets    uint64  `json:"packets"`
	Error      string  `json:"error"`
}

type readerJSON struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"` // whep | rtsp | relay (another node's pull)
	RemoteAddr     string    `json:"remote_addr"`
	Since          time.Time `json:"since"`
	BytesSent      uint64    `json:"bytes_sent"`
	PacketsSent    uint64    `json:"packets_sent"`
	PacketsDropped uint64    `json:"packets_dropped"`
	// From the reader's RTCP receiver reports; null before the first one.
	RTTMs        *float64 `json:"rtt_ms"`
	JitterMs     *float64 `json:"jitter_ms"`
	FractionLost *float64 `json:"fraction_lost"`
	// Layer is null unless the stream's video has simulcast layers.
	Layer *readerLayerJSON `json:"layer"`
	// VideoPaused: the reader's network does not carry the video, which is
	// paused so that the audio keeps flowing.
	VideoPaused bool `json:"video_paused"`
}

type viewersJSON struct {
	WHEP int `json:"whep"`
	RTSP int `json:"rtsp"`
}

type sessionJSON struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"` // whip | whep | rtsp-publish | rtsp-read | rtsp-source
	Stream     string    `json:"stream"`
	RemoteAddr string    `json:"remote_addr"`
	Since      time.Time `json:"since"`
}

type infoJSON struct {
	Version   string            `json:"version"`
	Commit    string            `json:"commit"`
	Go        string            `json:"go"`
	StartedAt time.Time         `json:"started_at"`
	URLs      map[string]string `json:"urls"`
}
