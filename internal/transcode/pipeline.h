// The native half of the transcoder: FFmpeg's AAC decoder (libavcodec),
// libswresample to 48 kHz, libopus. One call converts a batch of access
// units (or PCM samples) and returns every complete 20 ms Opus packet.
//
// A header of static functions rather than a .c file: a package with .c
// files does not build at all without cgo, and this one must (the
// pure-Go fallback in engine_none.go).
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <opus/opus.h>

#define WG_RATE 48000
#define WG_FRAME 960            // 20 ms at 48 kHz
#define WG_FIFO (WG_RATE * 2)   // samples per channel held at most (2 s)
#define WG_MAX_AU 8192

typedef struct {
	AVCodecContext *dec;      // NULL for PCM input
	AVPacket *pkt;
	AVFrame *frame;
	SwrContext *swr;
	// what swr was set up for (AAC: from the first decoded frame)
	int swr_rate, swr_fmt;
	AVChannelLayout swr_layout;
	AVChannelLayout out_layout;
	int channels;             // Opus channels, 1 or 2
	OpusEncoder *enc;
	float *fifo;              // interleaved, WG_FIFO samples per channel
	int fifo_n;               // samples per channel in fifo
	uint8_t au[WG_MAX_AU + AV_INPUT_BUFFER_PADDING_SIZE];
	int lookahead;
	char err[256];
} wg_pipe;

// Results of one call.
typedef struct {
	int packets;        // Opus packets written
	int dropped;        // samples (per channel) dropped: fifo full
	int decode_errors;  // access units the decoder refused
	int64_t cpu_ns;     // thread CPU time of the call
} wg_result;

static int64_t wg_thread_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void wg_pipe_free(wg_pipe *p) {
	if (!p) return;
	avcodec_free_context(&p->dec);
	av_packet_free(&p->pkt);
	av_frame_free(&p->frame);
	swr_free(&p->swr);
	av_channel_layout_uninit(&p->swr_layout);
	av_channel_layout_uninit(&p->out_layout);
	if (p->enc) opus_encoder_destroy(p->enc);
	free(p->fifo);
	free(p);
}

// wg_pipe_new: kind 0 = AAC (asc is its AudioSpecificConfig), 1 = 16-bit
// interleaved PCM at in_rate with in_channels. NULL on failure, with the
// reason in err.
static wg_pipe *wg_pipe_new(int kind, const uint8_t *asc, int asc_len, int in_rate, int in_channels,
		int out_channels, int bitrate, int complexity, char *err, int errlen) {
	// Decoder complaints about a damaged access unit are counted by the
	// caller (decode_errors), never printed per packet.
	av_log_set_level(AV_LOG_FATAL);
	wg_pipe *p = calloc(1, sizeof *p);
	if (!p) { snprintf(err, errlen, "out of memory"); return NULL; }
	p->channels = out_channels == 1 ? 1 : 2;
	av_channel_layout_default(&p->out_layout, p->channels);
	p->fifo = malloc(sizeof(float) * WG_FIFO * p->channels);
	p->frame = av_frame_alloc();
	if (!p->fifo || !p->frame) { snprintf(err, errlen, "out of memory"); goto fail; }
	if (kind == 0) {
		const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_AAC);
		if (!c) { snprintf(err, errlen, "libavcodec has no AAC decoder"); goto fail; }
		p->dec = avcodec_alloc_context3(c);
		p->pkt = av_packet_alloc();
		if (!p->dec || !p->pkt) { snprintf(err, errlen, "out of memory"); goto fail; }
		p->dec->extradata = av_mallocz(asc_len + AV_INPUT_BUFFER_PADDING_SIZE);
		if (!p->dec->extradata) { snprintf(err, errlen, "out of memory"); goto fail; }
		memcpy(p->dec->extradata, asc, asc_len);
		p->dec->extradata_size = asc_len;
		p->dec->sample_rate = in_rate;
		if (in_channels > 0) av_channel_layout_default(&p->dec->ch_layout, in_channels);
		int rc = avcodec_open2(p->dec, c, NULL);
		if (rc < 0) {
			char e[128];
			av_strerror(rc, e, sizeof e);
			snprintf(err, errlen, "AAC decoder refuses the configuration: %s", e);
			goto fail;
		}
	} else {
		AVChannelLayout in;
		av_channel_layout_default(&in, in_channels);
		int rc = swr_alloc_set_opts2(&p->swr, &p->out_layout, AV_SAMPLE_FMT_FLT, WG_RATE,
			&in, AV_SAMPLE_FMT_S16, in_rate, 0, NULL);
		av_channel_layout_uninit(&in);
		if (rc < 0 || swr_init(p->swr) < 0) {
			snprintf(err, errlen, "resampler refuses %d Hz %d ch", in_rate, in_channels);
			goto fail;
		}
	}
	int oe = 0;
	p->enc = opus_encoder_create(WG_RATE, p->channels, OPUS_APPLICATION_AUDIO, &oe);
	if (oe != OPUS_OK) { snprintf(err, errlen, "opus encoder: %s", opus_strerror(oe)); p->enc = NULL; goto fail; }
	opus_encoder_ctl(p->enc, OPUS_SET_BITRATE(bitrate));
	opus_encoder_ctl(p->enc, OPUS_SET_COMPLEXITY(complexity));
	opus_encoder_ctl(p->enc, OPUS_SET_VBR(1));
	opus_encoder_ctl(p->enc, OPUS_SET_INBAND_FEC(0));
	opus_encoder_ctl(p->enc, OPUS_SET_DTX(0));
	opus_encoder_ctl(p->enc, OPUS_GET_LOOKAHEAD(&p->lookahead));
	return p;
fail:
	wg_pipe_free(p);
	return NULL;
}

// wg_encode writes the fifo's complete frames as Opus packets into out.
static void wg_encode(wg_pipe *p, uint8_t *out, int out_cap, int *sizes, int max_packets, wg_result *r) {
	int off = 0, done = 0;
	for (int i = 0; i < r->packets; i++) off += sizes[i];
	while (p->fifo_n - done >= WG_FRAME && r->packets < max_packets && out_cap - off >= 1500) {
		int n = opus_encode_float(p->enc, p->fifo + (size_t)done * p->channels, WG_FRAME, out + off, 1500);
		done += WG_FRAME;
		if (n < 0) continue; // cannot happen with valid arguments; the frame is lost
		sizes[r->packets++] = n;
		off += n;
	}
	if (done > 0) {
		p->fifo_n -= done;
		memmove(p->fifo, p->fifo + (size_t)done * p->channels, sizeof(float) * p->fifo_n * p->channels);
	}
}

// wg_resample appends in (count samples per channel) to the fifo.
static void wg_resample(wg_pipe *p, const uint8_t **in, int count, wg_result *r) {
	int room = WG_FIFO - p->fifo_n;
	if (swr_get_out_samples(p->swr, count) > room) {
		// The encoder is that far behind only if the caller fed seconds
		// at once; drop this input rather than grow.
		r->dropped += count;
		return;
	}
	uint8_t *dst = (uint8_t *)(p->fifo + (size_t)p->fifo_n * p->channels);
	int n = swr_convert(p->swr, &dst, room, in, count);
	if (n > 0) p->fifo_n += n;
}

// wg_setup_swr (re)creates the resampler for a decoded frame's format.
static int wg_setup_swr(wg_pipe *p, AVFrame *f) {
	if (p->swr && p->swr_rate == f->sample_rate && p->swr_fmt == f->format &&
			av_channel_layout_compare(&p->swr_layout, &f->ch_layout) == 0) {
		return 0;
	}
	swr_free(&p->swr);
	av_channel_layout_uninit(&p->swr_layout);
	if (swr_alloc_set_opts2(&p->swr, &p->out_layout, AV_SAMPLE_FMT_FLT, WG_RATE,
			&f->ch_layout, f->format, f->sample_rate, 0, NULL) < 0 || swr_init(p->swr) < 0) {
		swr_free(&p->swr);
		return -1;
	}
	av_channel_layout_copy(&p->swr_layout, &f->ch_layout);
	p->swr_rate = f->sample_rate;
	p->swr_fmt = f->format;
	return 0;
}

// wg_push_aac decodes n access units (concatenated in data, sizes[i] bytes
// each) and encodes what is complete.
static void wg_push_aac(wg_pipe *p, const uint8_t *data, const int *sizes, int n,
		uint8_t *out, int out_cap, int *out_sizes, int max_packets, wg_result *r) {
	int64_t t0 = wg_thread_ns();
	memset(r, 0, sizeof *r);
	for (int i = 0; i < n; i++) {
		int sz = sizes[i];
		if (sz <= 0 || sz > WG_MAX_AU) { r->decode_errors++; data += sz > 0 ? sz : 0; continue; }
		memcpy(p->au, data, sz);
		memset(p->au + sz, 0, AV_INPUT_BUFFER_PADDING_SIZE);
		data += sz;
		p->pkt->data = p->au;
		p->pkt->size = sz;
		if (avcodec_send_packet(p->dec, p->pkt) < 0) { r->decode_errors++; continue; }
		while (avcodec_receive_frame(p->dec, p->frame) == 0) {
			if (wg_setup_swr(p, p->frame) == 0) {
				wg_resample(p, (const uint8_t **)p->frame->extended_data, p->frame->nb_samples, r);
			} else {
				r->decode_errors++;
			}
			av_frame_unref(p->frame);
		}
		wg_encode(p, out, out_cap, out_sizes, max_packets, r);
	}
	r->cpu_ns = wg_thread_ns() - t0;
}

// wg_push_pcm takes frames of interleaved 16-bit samples.
static void wg_push_pcm(wg_pipe *p, const int16_t *pcm, int frames,
		uint8_t *out, int out_cap, int *out_sizes, int max_packets, wg_result *r) {
	int64_t t0 = wg_thread_ns();
	memset(r, 0, sizeof *r);
	const uint8_t *in[1] = {(const uint8_t *)pcm};
	wg_resample(p, in, frames, r);
	wg_encode(p, out, out_cap, out_sizes, max_packets, r);
	r->cpu_ns = wg_thread_ns() - t0;
}

// wg_push_silence appends n samples (48 kHz) of silence: a gap in the
// source's timestamps, so the output timeline stays continuous.
static void wg_push_silence(wg_pipe *p, int n, uint8_t *out, int out_cap, int *out_sizes, int max_packets, wg_result *r) {
	int64_t t0 = wg_thread_ns();
	memset(r, 0, sizeof *r);
	if (n > WG_FIFO - p->fifo_n) { r->dropped += n - (WG_FIFO - p->fifo_n); n = WG_FIFO - p->fifo_n; }
	memset(p->fifo + (size_t)p->fifo_n * p->channels, 0, sizeof(float) * n * p->channels);
	p->fifo_n += n;
	wg_encode(p, out, out_cap, out_sizes, max_packets, r);
	r->cpu_ns = wg_thread_ns() - t0;
}

// wg_reset drops the samples waiting for a complete frame (a jump in the
// source's timeline) and what the resampler holds.
static void wg_reset(wg_pipe *p) {
	p->fifo_n = 0;
	if (p->swr) swr_init(p->swr);
}


