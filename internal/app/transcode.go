package app

import (
	"log/slog"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/transcode"
	"github.com/wishgate/wishgate/streams"
)

// conversions is the registry's audio transcoder (audio_transcode), and
// the start-up line that says whether this gateway has one.
func conversions(cfg config.Config, log *slog.Logger) streams.Conversions {
	if cfg.AudioTranscode == "off" {
		log.Info("audio transcoding off (audio_transcode: off): camera AAC, G.711 at other rates and L16 reach RTSP readers only")
		return nil
	}
	if err := transcode.Available(); err != nil {
		// The factory stays: it tells each such track's API note why.
		log.Warn("audio transcoding unavailable: camera AAC, G.711 at other rates and L16 reach RTSP readers only",
			"reason", err.Error())
	} else {
		log.Info("audio transcoding on: camera audio WebRTC cannot play reaches WebRTC viewers as Opus",
			"libraries", transcode.Versions())
	}
	return &transcode.Factory{Options: transcode.DefaultOptions(), Logger: log}
}
