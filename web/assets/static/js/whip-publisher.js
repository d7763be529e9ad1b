// WHIP publisher engine: sends a MediaStream to the gateway with trickle
// ICE, recovers from network changes (ICE restart, then a new session) and
// reports state in words. The form lives in publish.js.

import { HttpError, HttpSession } from "./httpsession.js";
import { HttpPeer, SessionLoop } from "./peer.js";
import { formatBitrate, selectedPair } from "./stats.js";

const FEC_RTX = /\/(rtx|red|ulpfec|flexfec-03)$/i;

/** Video codecs this browser can send, by name (H264, VP8, VP9, AV1, H265). */
export function sendableVideoCodecs() {
  const caps = (window.RTCRtpSender && RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities("video")) || { codecs: [] };
  const names = [];
  for (const c of caps.codecs) {
    if (FEC_RTX.test(c.mimeType)) continue;
    const n = c.mimeType.split("/")[1];
    if (!names.includes(n)) names.push(n);
  }
  return names;
}

/**
 * The codec list for setCodecPreferences: the chosen codec's entries first
 * (for H.264 packetization-mode=1 only, constrained baseline 42e01f first:
 * every browser decodes it, and Firefox takes 42e01f where it refuses
 * 42001f, m1k1o/neko#109), then RTX/RED/FEC. Only the chosen codec is
 * offered, so the gateway cannot pick another.
 */
export function preferredCodecs(caps, codecName) {
  const want = codecName.toLowerCase();
  let chosen = caps.filter((c) => c.mimeType.split("/")[1].toLowerCase() === want);
  if (want === "h264") {
    chosen = chosen.filter((c) => /packetization-mode=1/.test(c.sdpFmtpLine || ""));
    const rank = (c) => (/profile-level-id=42e01f/.test(c.sdpFmtpLine) ? 0 : /profile-level-id=42/.test(c.sdpFmtpLine) ? 1 : 2);
    chosen.sort((a, b) => rank(a) - rank(b));
  }
  return [...chosen, ...caps.filter((c) => FEC_RTX.test(c.mimeType))];
}

/**
 * Chromium's congestion controller starts near 300 kbit/s and needs many
 * seconds to reach a few Mbit/s; the non-standard x-google-start-bitrate
 * fmtp parameter (kbit/s) in the answer lets the first seconds look right.
 * Other browsers ignore the unknown parameter.
 */
export function withStartBitrate(sdp, kbps) {
  if (!kbps) return sdp;
  let inVideo = false;
  return sdp
    .split("\r\n")
    .map((l) => {
      if (l.startsWith("m=")) inVideo = l.startsWith("m=video");
      if (inVideo && l.startsWith("a=fmtp:") && !/apt=/.test(l) && !/x-google-start-bitrate/.test(l)) {
        return `${l};x-google-start-bitrate=${kbps}`;
      }
      return l;
    })
    .join("\r\n");
}

function setPreferences(transceiver, kind, codecName) {
  // Chromium checks send-only preferences against the sender's capabilities,
  // older versions against the receiver's: try both.
  for (const source of [window.RTCRtpSender, window.RTCRtpReceiver]) {
    const caps = source && source.getCapabilities && source.getCapabilities(kind);
    if (!caps) continue;
    const list = preferredCodecs(caps.codecs, codecName);
    if (!list.length || FEC_RTX.test(list[0].mimeType)) continue;
    try {
      transceiver.setCodecPreferences(list);
      return true;
    } catch {
      // try the other capability list
    }
  }
  return false;
}

/** Words for a failed publish attempt, and whether to retry. */
export function classifyPublish(err, hasToken, codec, attempt) {
  const backoff = Math.min(15, 2 ** Math.min(attempt, 4));
  if (err instanceof HttpError) {
    switch (err.status) {
      case 401:
        return { message: hasToken ? "Token rejected" : "This gateway needs a publish token", detail: hasToken ? "The token was not accepted for publishing this stream." : "Enter the publish token in the Token field.", retryIn: null };
      case 403:
        return { message: "This token may not publish this stream", detail: err.detail, retryIn: null };
      case 409:
        return { message: "Someone else is publishing this stream", detail: "Retrying in case they stop. " + err.detail, retryIn: err.retryAfter || backoff };
      case 422:
        return { message: `The gateway cannot take ${codec} from this browser`, detail: (err.detail ? err.detail + ". " : "") + "Pick another codec.", retryIn: null };
      case 400:
        return { message: "The gateway refused the request", detail: err.detail, retryIn: null };
      default:
        return { message: `Gateway error (HTTP ${err.status}) — retrying`, detail: err.detail, retryIn: err.retryAfter || backoff };
    }
  }
  return { message: "Cannot reach the gateway — retrying", detail: String((err && err.message) || err), retryIn: backoff };
}

/**
 * Three simulcast layers, named as browsers usually name them: "q" at a
 * quarter of the size, "h" at half, "f" full size, the cap shared about
 * 1:3:10 (RFC 8853 via sendEncodings; the gateway receives them all).
 */
export function simulcastEncodings(maxBitrate, maxFramerate) {
  const top = maxBitrate || 2500000;
  const enc = [
    { rid: "q", scaleResolutionDownBy: 4, maxBitrate: Math.round(top / 10) },
    { rid: "h", scaleResolutionDownBy: 2, maxBitrate: Math.round(top / 3) },
    { rid: "f", maxBitrate: top },
  ];
  if (maxFramerate) enc.forEach((e) => (e.maxFramerate = maxFramerate));
  return enc;
}

export class WhipPublisher extends SessionLoop {
  /**
   * @param {string} endpoint WHIP endpoint URL (may be relative)
   * @param {MediaStream} stream what to send
   * @param {{token?: string, codec?: string, maxBitrate?: number, maxFramerate?: number, simulcast?: boolean}} opts
   *   simulcast: send the video as three layers (simulcastEncodings)
   */
  constructor(endpoint, stream, opts = {}) {
    super("publisher");
    this.endpoint = endpoint;
    this.stream = stream;
    this.opts = opts;
    this.pc = null;
    this.peer = null;
  }

  async stop() {
    this.running = false;
    if (this.wake) this.wake();
    if (this.peer) await this.peer.close();
    this.setState("stopped", "Not live");
  }

  /** Changes the video bitrate cap on the fly (every layer's, in proportion). */
  async setMaxBitrate(bps) {
    this.opts.maxBitrate = bps;
    const sender = this.pc && this.pc.getSenders().find((s) => s.track && s.track.kind === "video");
    if (!sender) return;
    const p = sender.getParameters();
    if (!p.encodings || !p.encodings.length) return;
    const want = this.videoEncodings();
    p.encodings.forEach((e, i) => {
      if (want[i] && want[i].maxBitrate) e.maxBitrate = want[i].maxBitrate;
    });
    await sender.setParameters(p).catch(() => {});
  }

  /** The video's sendEncodings: one, or three simulcast layers. */
  videoEncodings() {
    return this.opts.simulcast ? simulcastEncodings(this.opts.maxBitrate, this.opts.maxFramerate) : [this.singleEncoding()];
  }

  singleEncoding() {
    const enc = {};
    if (this.opts.maxBitrate) enc.maxBitrate = this.opts.maxBitrate;
    if (this.opts.maxFramerate) enc.maxFramerate = this.opts.maxFramerate;
    return enc;
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  async loop() {
    let attempt = 0;
    while (this.running) {
      try {
        this.setState(attempt ? "reconnecting" : "connecting", attempt ? "Reconnecting…" : "Connecting…");
        const wasLive = await this.connectOnce();
        if (!this.running) break;
        attempt = wasLive ? 1 : attempt + 1;
        this.setState("reconnecting", "Connection lost — reconnecting…");
        await this.sleep(wasLive ? 300 : 1000 * Math.min(15, 2 ** Math.min(attempt, 4)));
      } catch (err) {
        if (!this.running) break;
        attempt++;
        const d = classifyPublish(err, !!this.opts.token, this.opts.codec || "this codec", attempt);
        if (d.retryIn == null) {
          this.running = false;
          this.setState("error", d.message, d);
          return;
        }
        this.setState("reconnecting", d.message, { ...d, retryAt: Date.now() + d.retryIn * 1000 });
        await this.sleep(d.retryIn * 1000);
      }
    }
  }

  async connectOnce() {
    const session = new HttpSession(this.endpoint, this.opts.token);
    const iceServers = await session.iceServers();
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    for (const track of this.stream.getTracks()) {
      const init = { direction: "sendonly", streams: [this.stream] };
      if (track.kind === "video") init.sendEncodings = this.videoEncodings();
      const tr = pc.addTransceiver(track, init);
      if (track.kind === "video" && this.opts.codec) setPreferences(tr, "video", this.opts.codec);
      if (track.kind === "audio") setPreferences(tr, "audio", "opus");
    }
    // Start at half the cap (at most 1.5 Mbit/s): fast to look good,
    // gentle on a link that turns out to be slow.
    const startKbps = this.opts.maxBitrate ? Math.min(1500, Math.round(this.opts.maxBitrate / 2000)) : 0;
    const peer = new HttpPeer(pc, session, null, (sdp) => withStartBitrate(sdp, startKbps));
    this.pc = pc;
    this.peer = peer;
    try {
      await peer.negotiate();
      return await this.supervise(pc, peer);
    } finally {
      await peer.close();
      if (this.pc === pc) this.pc = null;
    }
  }

  supervise(pc, peer) {
    return new Promise((resolve) => {
      let wasLive = false;
      let disconnectedAt = 0;
      let restartedAt = 0;
      let finished = false;
      let prev = null;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearInterval(tick);
        pc.removeEventListener("connectionstatechange", onState);
        this.wake = null;
        resolve(wasLive);
      };
      this.wake = finish;
      const tryRestart = async () => {
        restartedAt = Date.now();
        this.setState("reconnecting", "Network changed — reconnecting…");
        try {
          await peer.restartIce();
        } catch {
          finish();
        }
      };
      const onState = () => {
        const s = pc.connectionState;
        if (s === "connected") {
          wasLive = true;
          disconnectedAt = 0;
          restartedAt = 0;
          this.setState("live", "On air — viewers can watch now");
        } else if (s === "disconnected") {
          disconnectedAt = disconnectedAt || Date.now();
        } else if (s === "failed") {
          if (!restartedAt) tryRestart();
          else finish();
        } else if (s === "closed") {
          finish();
        }
      };
      pc.addEventListener("connectionstatechange", onState);
      const tick = setInterval(async () => {
        const now = Date.now();
        if (disconnectedAt && !restartedAt && now - disconnectedAt > 2000) tryRestart();
        if (restartedAt && pc.connectionState !== "connected" && now - restartedAt > 8000) return finish();
        if (pc.connectionState !== "connected") return;
        try {
          const s = await this.sample(pc, prev);
          prev = s.raw;
          this.dispatchEvent(new CustomEvent("stats", { detail: s }));
        } catch {
          // closed meanwhile
        }
      }, 1000);
    });
  }

  /** Outbound figures for the status line. */
  async sample(pc, prev) {
    const report = await pc.getStats();
    const raw = { bytes: 0, ts: 0 };
    const out = { width: 0, height: 0, fps: null, codec: "", limited: "", rtt: null };
    const codecs = {};
    report.forEach((s) => {
      if (s.type === "codec") codecs[s.id] = s;
    });
    report.forEach((s) => {
      if (s.type === "outbound-rtp") {
        raw.bytes += s.bytesSent || 0;
        raw.ts = Math.max(raw.ts, s.timestamp);
        if (s.kind === "video") {
          out.width = s.frameWidth || 0;
          out.height = s.frameHeight || 0;
          out.fps = s.framesPerSecond;
          out.limited = s.qualityLimitationReason && s.qualityLimitationReason !== "none" ? s.qualityLimitationReason : "";
          if (codecs[s.codecId]) out.codec = codecs[s.codecId].mimeType.split("/")[1];
        }
      }
    });
    const pair = selectedPair(report);
    if (pair && pair.currentRoundTripTime != null) out.rtt = pair.currentRoundTripTime * 1000;
    out.bitrate = prev && raw.ts > prev.ts ? ((raw.bytes - prev.bytes) * 8 * 1000) / (raw.ts - prev.ts) : null;
    out.raw = raw;
    out.text = [
      out.width ? `${out.width}×${out.height}` : "",
      out.fps != null ? `${Math.round(out.fps)} fps` : "",
      out.codec,
      out.bitrate != null ? formatBitrate(out.bitrate) : "",
      out.rtt != null ? `RTT ${Math.round(out.rtt)} ms` : "",
      out.limited ? `limited by ${out.limited}` : "",
    ].filter(Boolean).join(" · ");
    return out;
  }
}
