// The simulcast layers of a WHEP session, through the WHEP core extensions
// the gateway links in its 201: a server-sent event stream announces the
// layers (size, bitrate, the one this viewer gets), and a POST to the layer
// link chooses one ({"encodingId": RID}) or the automatic choice ({}).

import { formatBitrate } from "./stats.js";
import { postJSON } from "./httpsession.js";

/** The layers best first: by picture size, then bitrate. */
export function sortLayers(list) {
  return [...list].sort((a, b) => (b.width || 0) * (b.height || 0) - (a.width || 0) * (a.height || 0) || (b.bitrate || 0) - (a.bitrate || 0));
}

/** "1280×720 · 1.5 Mbit/s" (size or rid, and the bitrate while published). */
export function layerLabel(l) {
  const size = l.width && l.height ? `${l.width}×${l.height}` : `layer ${l.rid}`;
  return l.bitrate ? `${size} · ${formatBitrate(l.bitrate)}` : `${size} · not sent`;
}

export class LayerControl extends EventTarget {
  /**
   * @param {{layer: string|null, sse: string|null, events: string[]}} ext the 201's extensions
   * @param {string} token sent as a bearer token (the URLs' secret is what authorises)
   * @param {string} choice "auto" or the rid asked for with ?layer=
   */
  constructor(ext, token, choice) {
    super();
    this.ext = ext;
    this.token = token;
    this.choice = choice || "auto";
    this.layers = []; // as the last layers event listed them
    this.es = null;
  }

  /** Whether the stream has layers to choose from. */
  get available() {
    return !!(this.ext.layer && this.ext.sse && this.ext.events.includes("layers"));
  }

  /** The layer being sent to this viewer, or null. */
  get active() {
    return this.layers.find((l) => l.active) || null;
  }

  async start() {
    if (!this.available) return;
    const { location } = await postJSON(this.ext.sse, ["layers"], this.token);
    if (!location || this.closed) return;
    this.es = new EventSource(new URL(location, this.ext.sse).href);
    this.es.addEventListener("layers", (ev) => {
      try {
        this.update(JSON.parse(ev.data));
      } catch (err) {
        console.warn("wishgate player: a layers event that is not JSON", err);
      }
    });
  }

  update(data) {
    if (!data) return;
    const key = Object.keys(data)[0];
    this.layers = key != null ? data[key] || [] : [];
    this.dispatchEvent(new CustomEvent("change"));
  }

  /** Chooses a layer by rid, or the automatic choice ("auto"). */
  async select(rid) {
    if (!this.ext.layer) return;
    const { body } = await postJSON(this.ext.layer, rid && rid !== "auto" ? { encodingId: rid } : {}, this.token);
    this.choice = rid || "auto";
    this.update(body);
  }

  close() {
    this.closed = true;
    if (this.es) this.es.close();
    this.es = null;
  }
}
