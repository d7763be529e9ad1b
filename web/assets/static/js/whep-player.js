// WHEP player engine: connects, waits for streams that are not live yet,
// recovers from network changes (ICE restart over PATCH, then a fresh
// session), and reports its state in words. The UI lives in player-ui.js.

import { HttpError, HttpSession } from "./httpsession.js";
import { LayerControl } from "./layers.js";
import { HttpPeer, SessionLoop } from "./peer.js";
import { Sampler } from "./stats.js";

/**
 * Chromium decodes Opus as mono unless the *local* description asks for
 * stereo, and its offers never do (mediamtx#2043): add
 * stereo=1 to every Opus fmtp before setLocalDescription and the POST.
 */
export function mungeStereoOpus(sdp) {
  const pts = [...sdp.matchAll(/^a=rtpmap:(\d+) opus\/48000\/2/gim)].map((m) => m[1]);
  let out = sdp;
  for (const pt of pts) {
    out = out.replace(new RegExp(`^(a=fmtp:${pt} )(.*)$`, "m"), (line, head, params) =>
      /(^|;)\s*stereo=/.test(params) ? line : `${head}${params};stereo=1;sprop-stereo=1`);
  }
  return out;
}

/** Thrown before setRemoteDescription when the offer must be narrowed. */
class NarrowOffer extends Error {
  constructor(kinds) {
    super("offer again with " + kinds.join(" and "));
    this.kinds = kinds;
  }
}

/**
 * Chromium cannot apply an answer that rejects (port 0) the m-section
 * tagging the BUNDLE group, which is the first one ("Failed to setup RTCP
 * mux"). A gateway answers that way when the stream has no track of that
 * kind, e.g. audio only to our video+audio offer. Spot it in the answer and
 * offer again with only the accepted kinds.
 */
export function checkBundleTag(answer) {
  const lines = [...answer.matchAll(/^m=(\w+) (\d+) /gm)].map((m) => ({ kind: m[1], port: Number(m[2]) }));
  if (lines.length > 1 && lines[0].port === 0 && lines.some((l) => l.port !== 0)) {
    throw new NarrowOffer(lines.filter((l) => l.port !== 0).map((l) => l.kind));
  }
  return answer;
}

const DISCONNECTED_GRACE_MS = 2000; // "disconnected" often heals by itself
const RESTART_TIMEOUT_MS = 8000; // after an ICE restart, then a new session
const STALL_WARN_MS = 3000; // say so when media stops
const STALL_RECONNECT_MS = 15000; // longer than the gateway's default grace period

/** How an error affects the player: words for people, and when to retry. */
export function classify(err, hasToken, attempt) {
  const backoff = Math.min(15, 2 ** Math.min(attempt, 4));
  if (err instanceof HttpError) {
    const ra = err.retryAfter != null ? Math.min(30, Math.max(1, err.retryAfter)) : null;
    switch (err.status) {
      case 409:
        return { state: "waiting", message: "Stream not live yet — waiting", detail: "Playback starts by itself when the stream goes live.", retryIn: ra != null ? ra : backoff };
      case 404:
        return { state: "waiting", message: "Stream not found — waiting", detail: "Playback starts by itself when the stream appears.", retryIn: backoff };
      case 401:
        return { state: "error", code: "token", message: hasToken ? "Token rejected" : "This stream needs a token", detail: hasToken ? "The token was not accepted for watching this stream. Check it and try again." : "Enter the viewer token you were given.", retryIn: null };
      case 403:
        return { state: "error", code: "forbidden", message: "Not allowed to watch this stream", detail: "This token may not watch this stream.", retryIn: null };
      case 422: {
        // The gateway names the stream's codec first ("the stream's video
        // is H265 but the offer only has ..."): name it back to the user.
        const m = err.detail.match(/stream's (?:video|audio) is ([^\s,;]+)/i);
        const codec = m ? (/^(h\.?265|hevc)$/i.test(m[1]) ? "H.265" : /^h\.?264$/i.test(m[1]) ? "H.264" : m[1]) : "";
        const message = codec ? `Your browser cannot decode ${codec}` : "Your browser cannot play this stream's format";
        return { state: "error", code: "codec", message, detail: err.detail, retryIn: null };
      }
      case 400:
        return { state: "error", code: "request", message: "The gateway refused the request", detail: err.detail, retryIn: null };
      case 503:
        return { state: "reconnecting", message: "The gateway is busy — retrying", detail: err.detail, retryIn: ra != null ? ra : backoff };
      default:
        return { state: "reconnecting", message: `Gateway error (HTTP ${err.status}) — retrying`, detail: err.detail, retryIn: backoff };
    }
  }
  if (err && ["InvalidAccessError", "InvalidStateError", "OperationError", "SyntaxError"].includes(err.name)) {
    return { state: "reconnecting", message: "The browser could not use the gateway's answer — retrying", detail: String(err.message || err), retryIn: backoff };
  }
  if (err && err.name === "NotSupportedError") {
    return { state: "error", code: "browser", message: "This browser cannot play WebRTC streams", detail: String(err.message || err), retryIn: null };
  }
  return { state: "reconnecting", message: "Cannot reach the gateway — retrying", detail: String((err && err.message) || err), retryIn: backoff };
}

export class WhepPlayer extends SessionLoop {
  /**
   * @param {HTMLVideoElement} video
   * @param {string} endpoint the WHEP endpoint URL (may be relative)
   * @param {{token?: string, layer?: string}} [opts] layer: the simulcast layer
   *   to ask for ("auto", "low", "medium", "high" or a rid)
   */
  constructor(video, endpoint, opts = {}) {
    super("player");
    this.video = video;
    this.endpoint = endpoint;
    this.token = opts.token || "";
    this.pc = null;
    this.stats = null; // latest Sampler result
    this.connections = 0; // sessions that reached "connected"
    this.iceRestarts = 0;
    this.layerChoice = opts.layer || "auto";
    this.layers = null; // the session's LayerControl (layers.js)
  }

  /**
   * Chooses the simulcast layer (a rid, or "auto") for this session and the
   * sessions after it.
   */
  async selectLayer(rid) {
    this.layerChoice = rid || "auto";
    if (this.layers) await this.layers.select(this.layerChoice);
  }

  /** The endpoint with the layer choice, for the next POST. */
  endpointURL() {
    if (this.layerChoice === "auto") return this.endpoint;
    const u = new URL(this.endpoint, window.location.href);
    u.searchParams.set("layer", this.layerChoice);
    return u.href;
  }

  /** Stops playback and DELETEs the session. */
  async stop() {
    this.running = false;
    if (this.wake) this.wake();
    if (this.abort) this.abort.abort();
    if (this.peer) await this.peer.close();
    this.setState("stopped", "Stopped");
  }

  setToken(token) {
    this.token = token || "";
  }

  /** Sleeps ms unless woken by stop() or retryNow(). */
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

  retryNow() {
    if (this.wake) this.wake();
  }

  async loop() {
    let attempt = 0;
    while (this.running) {
      try {
        this.setState(this.connections ? "reconnecting" : "connecting", this.connections ? "Reconnecting…" : "Connecting…");
        const played = await this.connectOnce();
        if (!this.running) break;
        attempt = played ? 0 : attempt + 1;
        this.setState("reconnecting", "Connection lost — reconnecting…");
        await this.sleep(played ? 300 : 1000 * Math.min(15, 2 ** Math.min(attempt, 4)));
      } catch (err) {
        if (!this.running) break;
        attempt++;
        const d = classify(err, !!this.token, attempt);
        if (d.retryIn == null) {
          this.running = false;
          this.setState("error", d.message, d);
          return;
        }
        const until = Date.now() + d.retryIn * 1000;
        this.setState(d.state, d.message, { ...d, retryAt: until });
        await this.sleep(d.retryIn * 1000);
      }
    }
  }

  /**
   * One WHEP session from POST to its end. Resolves with whether media
   * flowed (so the next attempt can start at once); throws for a refused
   * POST (HttpError) or an unreachable gateway.
   */
  async connectOnce(kinds = ["video", "audio"]) {
    this.abort = new AbortController();
    const session = new HttpSession(this.endpointURL(), this.token);
    const iceServers = await session.iceServers(this.abort.signal);
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    for (const kind of kinds) pc.addTransceiver(kind, { direction: "recvonly" });
    const stream = new MediaStream();
    pc.addEventListener("track", (ev) => {
      stream.addTrack(ev.track);
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
      this.video.play().catch(() => {
        // Autoplay refused (sound policy): the UI offers a play/unmute button.
        this.dispatchEvent(new CustomEvent("autoplayblocked"));
      });
    });
    const peer = new HttpPeer(pc, session, mungeStereoOpus, checkBundleTag);
    this.pc = pc;
    this.peer = peer;
    let narrower = null;
    let layers = null;
    try {
      await peer.negotiate(this.abort.signal);
      layers = new LayerControl(session.extensions, this.token, this.layerChoice);
      this.layers = layers;
      layers.addEventListener("change", () => this.dispatchEvent(new CustomEvent("layers", { detail: layers })));
      layers.start().catch((err) => console.warn("wishgate player: no layer events:", err));
      return await this.supervise(pc, peer);
    } catch (err) {
      if (!(err instanceof NarrowOffer) || kinds.length < 2) throw err;
      narrower = err.kinds;
    } finally {
      if (layers) layers.close();
      if (this.layers === layers) this.layers = null;
      await peer.close();
      if (this.pc === pc) this.pc = null;
    }
    // The stream lacks one medium and the gateway refused our first m-line:
    // ask again for what the stream has.
    return this.connectOnce(narrower);
  }

  /** Watches one connection; resolves when a fresh session is needed. */
  supervise(pc, peer) {
    return new Promise((resolve) => {
      const sampler = new Sampler(pc);
      let played = false;
      let lastBytes = -1;
      let lastProgress = Date.now();
      let disconnectedAt = 0;
      let restartedAt = 0;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearInterval(tick);
        pc.removeEventListener("connectionstatechange", onState);
        this.video.removeEventListener("resize", onPicture);
        this.wake = null;
        resolve(played);
      };
      this.wake = finish; // stop() ends the wait too

      // The first picture lifts the overlay at once rather than at the
      // next statistics tick (up to a second later).
      const onPicture = () => {
        if (finished || !this.video.videoWidth || this.state === "playing") return;
        if (!played) this.connections++;
        played = true;
        lastProgress = Date.now();
        this.audioOnly = false;
        this.setState("playing", "", { audioOnly: false });
      };
      this.video.addEventListener("resize", onPicture);

      const tryRestart = async () => {
        restartedAt = Date.now();
        this.iceRestarts++;
        this.setState("reconnecting", "Network changed — reconnecting…");
        try {
          await peer.restartIce();
        } catch {
          finish(); // session gone (404) or restart refused: start over
        }
      };

      const onState = () => {
        const s = pc.connectionState;
        console.debug("wishgate player: connection %s (ICE %s)", s, pc.iceConnectionState);
        if (s === "connected") {
          disconnectedAt = 0;
          restartedAt = 0;
          if (!played) this.setState("connected", "Connected — waiting for the picture…");
        } else if (s === "disconnected") {
          disconnectedAt = disconnectedAt || Date.now();
          // Media had already stopped: the session is most likely gone
          // (publisher away past the grace period), so waiting for
          // "disconnected" to heal would only delay the new session.
          if (!restartedAt && Date.now() - lastProgress > STALL_WARN_MS) tryRestart();
        } else if (s === "failed") {
          if (!restartedAt) tryRestart();
          else finish();
        } else if (s === "closed") {
          finish();
        }
      };
      pc.addEventListener("connectionstatechange", onState);

      const tick = setInterval(async () => {
        if (finished) return;
        const now = Date.now();
        if (disconnectedAt && !restartedAt && now - disconnectedAt > DISCONNECTED_GRACE_MS) tryRestart();
        if (restartedAt && pc.connectionState !== "connected" && now - restartedAt > RESTART_TIMEOUT_MS) return finish();
        let s;
        try {
          s = await sampler.sample();
        } catch {
          return; // pc closed meanwhile
        }
        if (finished) return;
        this.stats = s;
        this.dispatchEvent(new CustomEvent("stats", { detail: s }));
        const bytes = s ? s.bytes : 0;
        if (bytes !== lastBytes) {
          lastBytes = bytes;
          lastProgress = now;
        }
        const flowing = s && (s.framesDecoded > 0 || s.audioPackets > 0);
        if (flowing && now - lastProgress < STALL_WARN_MS) {
          if (!played) this.connections++;
          played = true;
          // Audio only: the gateway rejected our video m-line (the stream
          // has no video), so no video ever arrives.
          const audioOnly = !s.videoBytes && !s.width;
          if (this.state !== "playing" || audioOnly !== this.audioOnly) {
            this.audioOnly = audioOnly;
            this.setState("playing", "", { audioOnly });
          }
        } else if (played && pc.connectionState === "connected" && now - lastProgress >= STALL_WARN_MS) {
          this.setState("stalled", "No media from the stream — the publisher may be reconnecting");
        }
        if (now - lastProgress > STALL_RECONNECT_MS) finish();
      }, 1000);
    });
  }
}
