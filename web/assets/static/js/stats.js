// Receive-side statistics from RTCPeerConnection.getStats() (W3C
// webrtc-stats), turned into the numbers a viewer cares about. Rates are
// computed between two successive reports.

/** Formats bits per second for people. */
export function formatBitrate(bps) {
  if (bps == null || !Number.isFinite(bps)) return "—";
  if (bps >= 1e6) return (bps / 1e6).toFixed(bps >= 1e7 ? 0 : 1) + " Mbit/s";
  if (bps >= 1e3) return Math.round(bps / 1e3) + " kbit/s";
  return Math.round(bps) + " bit/s";
}

function ms(seconds) {
  return seconds == null || !Number.isFinite(seconds) ? null : seconds * 1000;
}

/**
 * The candidate pair in use: the transport names it (after an ICE restart
 * the old pair may still be listed as nominated); Firefox has no transport
 * stats and flags the pair as selected instead.
 */
export function selectedPair(report) {
  let id = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) id = s.selectedCandidatePairId;
  });
  if (id && report.get(id)) return report.get(id);
  let pair = null;
  report.forEach((s) => {
    if (s.type === "candidate-pair" && (s.selected || s.nominated) && s.state === "succeeded") pair = s;
  });
  return pair;
}

/** Snapshot of the raw counters we need from one report. */
function pick(report) {
  const out = { video: null, audio: null, rtt: null, codecs: {}, ts: 0 };
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && (s.kind === "video" || s.kind === "audio")) {
      out[s.kind] = s;
      out.ts = Math.max(out.ts, s.timestamp);
    } else if (s.type === "codec") {
      out.codecs[s.id] = s;
    }
  });
  const pair = selectedPair(report);
  if (pair && pair.currentRoundTripTime != null) out.rtt = pair.currentRoundTripTime;
  return out;
}

function rate(cur, prev, field, dt) {
  if (!cur || !prev || dt <= 0 || cur[field] == null || prev[field] == null) return null;
  return (cur[field] - prev[field]) / dt;
}

/** Mean jitter-buffer delay over the interval, in ms: the playout delay. */
function playoutDelay(cur, prev) {
  if (!cur || cur.jitterBufferDelay == null || !cur.jitterBufferEmittedCount) return null;
  const dCount = cur.jitterBufferEmittedCount - ((prev && prev.jitterBufferEmittedCount) || 0);
  const dDelay = cur.jitterBufferDelay - ((prev && prev.jitterBufferDelay) || 0);
  if (dCount > 0) return (dDelay / dCount) * 1000;
  return (cur.jitterBufferDelay / cur.jitterBufferEmittedCount) * 1000;
}

/** Loss over the interval in percent (lost / expected). */
function lossPercent(cur, prev) {
  if (!cur) return null;
  const lost = (cur.packetsLost || 0) - ((prev && prev.packetsLost) || 0);
  const recv = (cur.packetsReceived || 0) - ((prev && prev.packetsReceived) || 0);
  if (lost + recv <= 0) return 0;
  return Math.max(0, (100 * lost) / (lost + recv));
}

/**
 * Samples pc every call and returns the derived figures, or null before
 * anything was received. Keep one Sampler per connection.
 */
export class Sampler {
  constructor(pc) {
    this.pc = pc;
    this.prev = null;
  }

  async sample() {
    const cur = pick(await this.pc.getStats());
    const prev = this.prev;
    this.prev = cur;
    if (!cur.video && !cur.audio) return null;
    const dt = prev ? (cur.ts - prev.ts) / 1000 : 0;
    const v = cur.video;
    const a = cur.audio;
    const pv = prev && prev.video;
    const pa = prev && prev.audio;
    const codec = (s) => (s && cur.codecs[s.codecId] ? cur.codecs[s.codecId].mimeType.replace(/^(video|audio)\//, "") : null);
    const channels = a && cur.codecs[a.codecId] ? cur.codecs[a.codecId].channels : null;
    const vb = rate(v, pv, "bytesReceived", dt);
    const ab = rate(a, pa, "bytesReceived", dt);
    return {
      width: v ? v.frameWidth || 0 : 0,
      height: v ? v.frameHeight || 0 : 0,
      fps: v ? (v.framesPerSecond != null ? v.framesPerSecond : rate(v, pv, "framesDecoded", dt)) : null,
      framesDecoded: v ? v.framesDecoded || 0 : 0,
      framesDropped: v ? v.framesDropped || 0 : 0,
      videoCodec: codec(v),
      audioCodec: codec(a),
      audioChannels: channels,
      videoBitrate: vb == null ? null : vb * 8,
      audioBitrate: ab == null ? null : ab * 8,
      bitrate: vb == null && ab == null ? null : ((vb || 0) + (ab || 0)) * 8,
      videoLoss: lossPercent(v, pv),
      audioLoss: lossPercent(a, pa),
      videoJitter: ms(v && v.jitter),
      audioJitter: ms(a && a.jitter),
      rtt: ms(cur.rtt),
      videoPlayout: playoutDelay(v, pv),
      audioPlayout: playoutDelay(a, pa),
      videoBytes: v ? v.bytesReceived || 0 : 0,
      audioPackets: a ? a.packetsReceived || 0 : 0,
      bytes: (v ? v.bytesReceived || 0 : 0) + (a ? a.bytesReceived || 0 : 0),
    };
  }
}

function num(x, digits, unit) {
  return x == null || !Number.isFinite(x) ? "—" : x.toFixed(digits) + unit;
}

/** Rows for the overlay: [label, value] pairs. */
export function describe(s) {
  if (!s) return [["Status", "waiting for media…"]];
  return [
    ["Resolution", s.width ? `${s.width}×${s.height}` : "—"],
    ["Frame rate", num(s.fps, 0, " fps")],
    ["Bitrate", formatBitrate(s.bitrate)],
    ["Codecs", [s.videoCodec, s.audioCodec && s.audioCodec + (s.audioChannels === 2 ? " stereo" : "")].filter(Boolean).join(" + ") || "—"],
    ["Packet loss", `${num(s.videoLoss, 1, "%")} video, ${num(s.audioLoss, 1, "%")} audio`],
    ["Jitter", `${num(s.videoJitter, 0, " ms")} video, ${num(s.audioJitter, 0, " ms")} audio`],
    ["Round trip", num(s.rtt, 0, " ms")],
    ["Playout delay", `${num(s.videoPlayout, 0, " ms")} video, ${num(s.audioPlayout, 0, " ms")} audio`],
    ["Frames", `${s.framesDecoded} decoded, ${s.framesDropped} dropped`],
  ];
}
