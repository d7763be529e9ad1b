// The player's controls around a WhepPlayer: status overlay (never a blank
// video), mute, fullscreen, stats overlay, token prompt. Used by the watch
// page and the embeddable player.

import { WhepPlayer } from "./whep-player.js";
import { describe } from "./stats.js";
import { namePath } from "./page.js";
import { layerLabel, sortLayers } from "./layers.js";

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

/**
 * Builds a player for stream `name` inside container. endpoint defaults to
 * this page's gateway (/whep/NAME); the web component passes its own.
 * @returns {WhepPlayer}
 */
export function mountPlayer(container, { name, token = "", showStats = false, globalKeys = false, endpoint = "", layer = "" }) {
  const video = el("video", { playsinline: "", autoplay: "", "aria-label": `Live stream ${name}` });
  video.muted = true; // browsers only autoplay muted video
  video.playsInline = true;

  const spinner = el("div", { class: "spinner", "aria-hidden": "true" });
  // Only the headline is a live region: the countdown in the detail line
  // changes twice a second and must not be read out each time.
  const msg = el("p", { class: "status-msg", role: "status", "aria-live": "polite" });
  const detail = el("p", { class: "status-detail" });
  const tokenInput = el("input", { type: "password", id: `token-${name}`, autocomplete: "off", placeholder: "viewer token" });
  const tokenForm = el("form", { class: "token-form", hidden: "" },
    el("label", { for: `token-${name}`, text: "Token" }), tokenInput, el("button", { type: "submit", text: "Watch" }));
  const retry = el("button", { type: "button", class: "retry", hidden: "", text: "Try again" });
  const status = el("div", { class: "status" }, spinner, msg, detail, tokenForm, retry);

  const statsBox = el("dl", { class: "stats", hidden: "", "aria-label": "Playback statistics" });
  const unmuteHint = el("button", { type: "button", class: "unmute-hint", text: "Tap to unmute" });

  const muteBtn = el("button", { type: "button", "aria-pressed": "true", title: "Mute / unmute (M)" });
  const statsBtn = el("button", { type: "button", "aria-pressed": String(showStats), title: "Statistics (S)", text: "Stats" });
  const fsBtn = el("button", { type: "button", title: "Fullscreen (F)", text: "Fullscreen" });
  const live = el("span", { class: "live-badge", hidden: "", text: "LIVE" });
  // Quality: Auto, then each simulcast layer; shown when there is a choice.
  const quality = el("select", { class: "quality", "aria-label": "Quality", title: "Quality (simulcast layer)", hidden: "" });
  const controls = el("div", { class: "controls" }, muteBtn, statsBtn, fsBtn, quality, live);

  const root = el("div", { class: "player", tabindex: "-1" }, video, status, unmuteHint, statsBox, controls);
  container.append(root);

  const player = new WhepPlayer(video, endpoint || `/whep/${namePath(name)}`, { token, layer });

  function renderMute() {
    muteBtn.textContent = video.muted ? "Unmute" : "Mute";
    muteBtn.setAttribute("aria-pressed", String(video.muted));
    muteBtn.setAttribute("aria-label", video.muted ? "Unmute" : "Mute");
    unmuteHint.hidden = !video.muted || player.state !== "playing";
  }
  function toggleMute() {
    video.muted = !video.muted;
    if (!video.muted) video.play().catch(() => {});
    renderMute();
  }
  function toggleStats() {
    statsBox.hidden = !statsBox.hidden;
    statsBtn.setAttribute("aria-pressed", String(!statsBox.hidden));
    renderStats(player.stats);
  }
  function toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    } else if (root.requestFullscreen) {
      root.requestFullscreen().catch(() => {});
    } else if (video.webkitEnterFullscreen) {
      video.webkitEnterFullscreen(); // iOS Safari: only the video element
    }
  }
  function renderQuality() {
    const lc = player.layers;
    const layers = lc ? sortLayers(lc.layers) : [];
    quality.hidden = layers.length < 2;
    if (quality.hidden) return;
    const active = lc.active;
    const want = [["auto", "Auto" + (player.layerChoice === "auto" && active ? ` (${active.width ? active.width + "×" + active.height : active.rid})` : "")],
      ...layers.map((l) => [l.rid, layerLabel(l)])];
    // Rebuilt only when the layers change, so an open menu stays open.
    if (quality.options.length !== want.length || want.some(([v], i) => quality.options[i].value !== v)) {
      quality.replaceChildren(...want.map(([value, text]) => el("option", { value, text })));
    } else {
      want.forEach(([, text], i) => {
        if (quality.options[i].textContent !== text) quality.options[i].textContent = text;
      });
    }
    quality.value = player.layerChoice === "auto" || !layers.some((l) => l.rid === player.layerChoice) ? "auto" : player.layerChoice;
  }
  function layerRow() {
    const a = player.layers && player.layers.active;
    if (!a) return null;
    const size = a.width ? ` ${a.width}×${a.height}` : "";
    return ["Layer", `${a.rid}${size} (${player.layerChoice === "auto" ? "auto" : "chosen"})`];
  }
  function renderStats(s) {
    if (statsBox.hidden) return;
    const rows = describe(s);
    const lr = layerRow();
    if (lr) rows.splice(1, 0, lr);
    statsBox.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  }

  muteBtn.addEventListener("click", toggleMute);
  unmuteHint.addEventListener("click", toggleMute);
  statsBtn.addEventListener("click", toggleStats);
  fsBtn.addEventListener("click", toggleFullscreen);
  video.addEventListener("volumechange", renderMute);
  // Shortcuts work while focus is in the player, or anywhere on a page that
  // is only the player (globalKeys), except while typing.
  (globalKeys ? document : root).addEventListener("keydown", (ev) => {
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key.toLowerCase();
    if (k === "m") toggleMute();
    else if (k === "f") toggleFullscreen();
    else if (k === "s") toggleStats();
    else return;
    ev.preventDefault();
  });
  tokenForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    player.setToken(tokenInput.value.trim());
    player.start();
  });
  retry.addEventListener("click", () => player.start());

  let countdown = 0;
  player.addEventListener("state", (ev) => {
    const d = ev.detail;
    root.dataset.state = d.state;
    clearInterval(countdown);
    const playing = d.state === "playing";
    status.hidden = playing && !d.audioOnly;
    spinner.hidden = d.state === "error" || playing;
    msg.textContent = playing ? "Audio only" : d.message;
    detail.textContent = d.detail || "";
    live.hidden = !playing;
    tokenForm.hidden = !(d.state === "error" && d.code === "token");
    retry.hidden = !(d.state === "error" && d.code !== "token");
    if (d.retryAt) {
      const tickDown = () => {
        const s = Math.max(0, Math.ceil((d.retryAt - Date.now()) / 1000));
        detail.textContent = (d.detail ? d.detail + " " : "") + (s > 0 ? `Next try in ${s} s.` : "Trying…");
      };
      tickDown();
      countdown = setInterval(tickDown, 500);
    }
    if (!tokenForm.hidden) tokenInput.focus();
    renderMute();
  });
  player.addEventListener("stats", (ev) => renderStats(ev.detail));
  player.addEventListener("layers", () => {
    renderQuality();
    renderStats(player.stats);
  });
  quality.addEventListener("change", () => {
    player.selectLayer(quality.value).catch((err) => console.warn("wishgate player: layer choice refused:", err));
  });
  player.addEventListener("autoplayblocked", () => {
    unmuteHint.hidden = false;
  });

  renderMute();
  if (showStats) {
    statsBox.hidden = false;
    renderStats(null);
  }
  window.addEventListener("pagehide", () => player.stop());
  player.start();
  return player;
}
