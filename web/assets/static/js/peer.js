// Binds an RTCPeerConnection to an HttpSession: offer/answer over POST,
// trickle ICE over PATCH (batched), ICE restart over PATCH. The server
// cannot trickle (RFC 9725 §4.3.2), so only our candidates travel.

import { HttpSession } from "./httpsession.js";

/** ICE credentials and the first m-section's mid of a description. */
export function iceParams(sdp) {
  const ufrag = (sdp.match(/^a=ice-ufrag:(.+)$/m) || [])[1];
  const pwd = (sdp.match(/^a=ice-pwd:(.+)$/m) || [])[1];
  const mid = (sdp.match(/^a=mid:(.+)$/m) || [])[1];
  return { ufrag: (ufrag || "").trim(), pwd: (pwd || "").trim(), mid: (mid || "0").trim() };
}

/**
 * An application/trickle-ice-sdpfrag body (RFC 8840 §4.4; RFC 9725 §4.3.2):
 * credentials, one m-line naming the bundled mid, then the candidates.
 */
export function buildFrag({ ufrag, pwd, mid, candidates, end }) {
  let s = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=audio 9 RTP/AVP 0\r\na=mid:${mid}\r\n`;
  for (const c of candidates) s += `a=${c}\r\n`;
  if (end) s += "a=end-of-candidates\r\n";
  return s;
}

/** Parses the server's sdpfrag (ICE restart answer). */
export function parseFrag(text) {
  const out = { ufrag: "", pwd: "", candidates: [] };
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.trim();
    if (l.startsWith("a=ice-ufrag:")) out.ufrag = l.slice(12);
    else if (l.startsWith("a=ice-pwd:")) out.pwd = l.slice(10);
    else if (l.startsWith("a=candidate:")) out.candidates.push(l.slice(2));
  }
  return out;
}

/** The previous answer with new ICE credentials and no old candidates. */
export function replaceIce(sdp, ufrag, pwd) {
  return sdp
    .split(/\r?\n/)
    .filter((l) => l !== "" && !l.startsWith("a=candidate:") && l !== "a=end-of-candidates")
    .map((l) => (l.startsWith("a=ice-ufrag:") ? "a=ice-ufrag:" + ufrag : l.startsWith("a=ice-pwd:") ? "a=ice-pwd:" + pwd : l))
    .join("\r\n") + "\r\n";
}

export class HttpPeer {
  /**
   * @param {RTCPeerConnection} pc with its transceivers already added
   * @param {HttpSession} session
   * @param {(sdp: string) => string} [mungeOffer] applied before setLocalDescription
   * @param {(sdp: string) => string} [mungeAnswer] applied before setRemoteDescription
   */
  constructor(pc, session, mungeOffer, mungeAnswer) {
    this.pc = pc;
    this.session = session;
    this.munge = mungeOffer || ((s) => s);
    this.mungeAnswer = mungeAnswer || ((s) => s);
    this.ice = null; // our current {ufrag, pwd, mid}
    this.pending = []; // candidate lines not yet PATCHed
    this.ended = false; // end-of-candidates seen for the current generation
    this.flushTimer = 0;
    this.ready = false; // the 201 (Location, ETag) arrived
    this.remoteSdp = "";
    this.restarting = false;
    this.closed = false;
    pc.addEventListener("icecandidate", (ev) => this.onCandidate(ev.candidate));
  }

  onCandidate(c) {
    if (this.closed || !this.ice) return;
    if (!c || !c.candidate) {
      this.ended = true;
    } else {
      // A candidate of an older ICE generation is useless after a restart.
      if (c.usernameFragment && c.usernameFragment !== this.ice.ufrag) return;
      this.pending.push(c.candidate);
    }
    this.scheduleFlush();
  }

  scheduleFlush() {
    // Clients should wait for the 201 and aggregate (RFC 9725 §4.3.2):
    // gather for a few tens of milliseconds, then send one PATCH.
    if (!this.ready || this.restarting || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = 0;
      this.flush();
    }, 40);
  }

  async flush() {
    if (this.closed || (!this.pending.length && !this.ended)) return;
    const frag = buildFrag({ ...this.ice, candidates: this.pending, end: this.ended });
    this.pending = [];
    this.ended = false;
    try {
      await this.session.trickle(frag);
    } catch {
      // Trickle is an optimisation: the server also learns our address
      // from our connectivity checks (peer-reflexive candidates).
    }
  }

  /** Offer, POST, answer. Throws HttpError for a refused POST. */
  async negotiate(signal) {
    const offer = await this.pc.createOffer();
    const sdp = this.munge(offer.sdp);
    await this.pc.setLocalDescription({ type: "offer", sdp });
    this.ice = iceParams(sdp);
    const answer = this.mungeAnswer(await this.session.post(sdp, signal));
    if (this.closed) return;
    this.remoteSdp = answer;
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer });
    this.ready = true;
    this.scheduleFlush();
  }

  /** ICE restart over PATCH; throws if the server refuses it. */
  async restartIce() {
    if (this.closed || !this.ready) throw new Error("not negotiated");
    this.restarting = true;
    try {
      const offer = await this.pc.createOffer({ iceRestart: true });
      const sdp = this.munge(offer.sdp);
      await this.pc.setLocalDescription({ type: "offer", sdp });
      this.ice = iceParams(sdp);
      this.pending = [];
      this.ended = false;
      const frag = parseFrag(await this.session.restart(buildFrag({ ...this.ice, candidates: [] })));
      if (!frag.ufrag || !frag.pwd) throw new Error("ICE restart answer without credentials");
      this.remoteSdp = replaceIce(this.remoteSdp, frag.ufrag, frag.pwd);
      await this.pc.setRemoteDescription({ type: "answer", sdp: this.remoteSdp });
      for (const c of frag.candidates) {
        await this.pc.addIceCandidate({ candidate: c, sdpMid: this.ice.mid }).catch(() => {});
      }
    } finally {
      this.restarting = false;
    }
    this.scheduleFlush();
  }

  /** Closes the connection and DELETEs the session. Idempotent. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.flushTimer);
    this.pc.close();
    await this.session.delete();
  }
}

/**
 * The state machine both the WHEP player and the WHIP publisher run: a
 * connect loop started once, and state changes as events ("state", with
 * {state, message, ...extra}) plus one console line per change — what a
 * user pastes into a bug report.
 */
export class SessionLoop extends EventTarget {
  /** @param {string} role "player" or "publisher", for the console line */
  constructor(role) {
    super();
    this.role = role;
    this.state = "idle";
    this.running = false;
    this.wake = null; // resolves the current wait early
  }

  setState(state, message = "", extra = {}) {
    if (state !== this.state || message !== this.lastMessage) {
      console.info(`wishgate %s: %s%s`, this.role, state, message ? " — " + message : "", extra.detail ? ` (${extra.detail})` : "");
    }
    this.lastMessage = message;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, message, ...extra } }));
  }

  /** Starts the connect loop (the subclass's loop()) unless it runs. */
  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }
}

export { HttpSession };
