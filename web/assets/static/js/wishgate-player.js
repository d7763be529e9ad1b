// <wishgate-player stream="NAME"></wishgate-player>: the player as a web
// component for pages on other sites. Load this module from the gateway:
//
//   <script type="module" src="https://GATEWAY/static/js/wishgate-player.js"></script>
//
// The gateway is wherever this module came from (import.meta.url), so the
// element needs only the stream name. Attributes: stream (required),
// token (viewer token), stats (present: open the statistics).
import { mountPlayer } from "./player-ui.js";
import { namePath } from "./page.js";

const gateway = new URL("/", import.meta.url);

class WishgatePlayer extends HTMLElement {
  connectedCallback() {
    if (this.player) return;
    const name = this.getAttribute("stream") || "";
    const shadow = this.shadowRoot || this.attachShadow({ mode: "open" });
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL("/static/css/app.css", gateway).href;
    const host = document.createElement("div");
    host.className = "player-host";
    shadow.replaceChildren(css, host);
    this.player = mountPlayer(host, {
      name,
      token: this.getAttribute("token") || "",
      showStats: this.hasAttribute("stats"),
      layer: this.getAttribute("layer") || "",
      endpoint: new URL(`/whep/${namePath(name)}`, gateway).href,
    });
  }

  disconnectedCallback() {
    // Removed from the page: end the WHEP session (DELETE) at once.
    if (this.player) this.player.stop();
    this.player = null;
  }
}

if (!customElements.get("wishgate-player")) customElements.define("wishgate-player", WishgatePlayer);
