// The HTTP half of WHIP (RFC 9725) and WHEP: POST the offer, PATCH trickled
// candidates and ICE restarts (RFC 8840 sdpfrag), DELETE on the way out.
// Shared by the player and the publisher; no DOM access here.

/** An HTTP answer other than the one we wanted, with what the user needs. */
export class HttpError extends Error {
  constructor(status, detail, retryAfter) {
    super(detail || `HTTP ${status}`);
    this.name = "HttpError";
    this.status = status;
    this.detail = detail || "";
    this.retryAfter = retryAfter; // seconds, or null
  }
}

/** Seconds from a Retry-After header (delta-seconds or HTTP-date), or null. */
export function parseRetryAfter(value) {
  if (!value) return null;
  const n = Number(value.trim());
  if (Number.isFinite(n) && n >= 0) return n;
  const at = Date.parse(value);
  if (!Number.isNaN(at)) return Math.max(0, (at - Date.now()) / 1000);
  return null;
}

/**
 * ICE servers from Link header fields (RFC 9725 §4.6):
 * <turn:host:3478?transport=udp>; rel="ice-server"; username="u"; credential="p"
 * fetch() joins repeated fields with ", ", so split on "<" boundaries.
 */
export function parseIceServers(link) {
  const servers = [];
  if (!link) return servers;
  for (const part of link.split(/,\s*(?=<)/)) {
    const m = part.match(/^\s*<([^>]+)>(.*)$/);
    if (!m) continue;
    const params = {};
    for (const p of m[2].split(";")) {
      const kv = p.match(/^\s*([a-zA-Z-]+)\s*=\s*"?([^"]*)"?\s*$/);
      if (kv) params[kv[1].toLowerCase()] = kv[2];
    }
    if (params.rel !== "ice-server") continue;
    const s = { urls: m[1] };
    if (params.username) s.username = params.username;
    if (params.credential) s.credential = params.credential;
    servers.push(s);
  }
  return servers;
}

const REL_LAYER = "urn:ietf:params:whep:ext:core:layer";
const REL_SSE = "urn:ietf:params:whep:ext:core:server-sent-events";

/**
 * The WHEP core extensions a 201 links: the layer selection URL and the
 * server-sent events URL with the events it offers, resolved against base.
 */
export function parseExtensions(link, base) {
  const out = { layer: null, sse: null, events: [] };
  if (!link) return out;
  for (const part of link.split(/,\s*(?=<)/)) {
    const m = part.match(/^\s*<([^>]+)>(.*)$/);
    if (!m) continue;
    const rel = (m[2].match(/;\s*rel="?([^";]+)"?/) || [])[1];
    const url = new URL(m[1], base).href;
    if (rel === REL_LAYER) out.layer = url;
    if (rel === REL_SSE) {
      out.sse = url;
      out.events = ((m[2].match(/;\s*events="([^"]*)"/) || [])[1] || "").split(",").filter(Boolean);
    }
  }
  return out;
}

/** Reads a problem+json detail (RFC 9457) or a short text body. */
async function readDetail(resp) {
  try {
    const text = await resp.text();
    if ((resp.headers.get("Content-Type") || "").includes("json")) {
      const p = JSON.parse(text);
      return p.detail || p.title || "";
    }
    return text.slice(0, 300).trim();
  } catch {
    return "";
  }
}

/**
 * One WHIP or WHEP session: the endpoint URL, then the session URL the 201
 * names. The session URL is resolved against the endpoint URL, as the
 * Location header may be a path (RFC 9725 §4.2; docs/protocol.md).
 */
export class HttpSession {
  constructor(endpoint, token) {
    this.endpoint = new URL(endpoint, window.location.href).href;
    this.token = token || "";
    this.location = null;
    this.etag = null;
    this.extensions = { layer: null, sse: null, events: [] };
  }

  headers(extra) {
    const h = new Headers(extra || {});
    if (this.token) h.set("Authorization", "Bearer " + this.token);
    return h;
  }

  /** OPTIONS on the endpoint: ICE servers to configure before the offer. */
  async iceServers(signal) {
    try {
      const resp = await fetch(this.endpoint, { method: "OPTIONS", headers: this.headers(), signal });
      return parseIceServers(resp.headers.get("Link"));
    } catch (e) {
      if (signal && signal.aborted) throw e;
      return []; // optional: a gateway without it still works on host candidates
    }
  }

  /** POSTs the offer; resolves with the answer SDP, or throws HttpError. */
  async post(offerSdp, signal) {
    const resp = await fetch(this.endpoint, {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/sdp" }),
      body: offerSdp,
      signal,
    });
    if (resp.status !== 201 && resp.status !== 200) {
      throw new HttpError(resp.status, await readDetail(resp), parseRetryAfter(resp.headers.get("Retry-After")));
    }
    const loc = resp.headers.get("Location");
    if (!loc) throw new HttpError(resp.status, "the gateway answered without a Location header");
    this.location = new URL(loc, this.endpoint).href;
    this.etag = resp.headers.get("ETag");
    this.answerIceServers = parseIceServers(resp.headers.get("Link"));
    this.extensions = parseExtensions(resp.headers.get("Link"), this.endpoint);
    return await resp.text();
  }

  /** PATCHes trickled candidates (204 expected). */
  async trickle(frag) {
    if (!this.location) return;
    const h = this.headers({ "Content-Type": "application/trickle-ice-sdpfrag" });
    if (this.etag) h.set("If-Match", this.etag);
    const resp = await fetch(this.location, { method: "PATCH", headers: h, body: frag });
    if (!resp.ok) throw new HttpError(resp.status, await readDetail(resp));
  }

  /**
   * ICE restart (RFC 9725 §4.3.3): new credentials with If-Match "*"; the
   * 200 answer is the server's sdpfrag and carries a new ETag.
   */
  async restart(frag) {
    const h = this.headers({ "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" });
    const resp = await fetch(this.location, { method: "PATCH", headers: h, body: frag });
    if (resp.status !== 200) throw new HttpError(resp.status, await readDetail(resp));
    this.etag = resp.headers.get("ETag") || this.etag;
    return await resp.text();
  }

  /** DELETE, best effort. keepalive lets it finish while the page unloads. */
  async delete() {
    const loc = this.location;
    this.location = null;
    if (!loc) return;
    try {
      await fetch(loc, { method: "DELETE", headers: this.headers(), keepalive: true });
    } catch {
      // The gateway also notices a dead peer by consent freshness (RFC 7675).
    }
  }
}

/** POSTs a JSON body to an extension URL; resolves with the JSON answer. */
export async function postJSON(url, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const resp = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  if (!resp.ok) throw new HttpError(resp.status, await readDetail(resp));
  return { location: resp.headers.get("Location"), body: resp.status === 200 ? await resp.json().catch(() => null) : null };
}
