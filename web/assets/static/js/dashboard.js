// /: every stream, live, from the control API (GET /api/v1/streams, polled
// about once a second). Rows are updated in place, so keyboard focus on a
// link survives the refresh.
import { formatBitrate } from "./stats.js";
import { namePath, param, validName } from "./page.js";
import { createControls } from "./dashboard-controls.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000;
const TOKEN_KEY = "wishgate.adminToken";

let token = param("token") || sessionStorage.getItem(TOKEN_KEY) || "";
let info = null; // GET /api/v1/info, if the gateway offers it
const rows = new Map(); // stream name -> <tr>

const SOURCE_LABEL = { whip: "WHIP", "rtsp-source": "RTSP camera", "rtsp-publish": "RTSP publish", relay: "Relay" };
const CLUSTER_EVERY = 3; // polls between two looks at /api/v1/cluster
const STATE_LABEL = { live: "live", waiting: "waiting", reconnecting: "source reconnecting", idle: "on demand" };

export function formatDuration(sec) {
  if (sec == null || !Number.isFinite(sec)) return "—";
  sec = Math.floor(sec);
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

export function describeTrack(t) {
  let s = t.codec || "?";
  if (t.kind === "video" && t.width && t.height) s += ` ${t.width}×${t.height}`;
  if (t.kind === "audio") {
    if (t.clock_rate) s += ` ${t.clock_rate / 1000} kHz`;
    if (t.channels === 2) s += " stereo";
  }
  if (t.transcode) {
    // Browsers get it transcoded ("AAC → Opus"), while someone watches.
    s += ` (${t.transcode.from} → ${t.transcode.to}${t.transcode.running ? ", transcoding" : ""})`;
  } else if (t.webrtc_playable === false) s += ` (${t.note || "not playable in browsers"})`;
  if (t.layers && t.layers.length) s += ` · simulcast: ${describeLayers(t.layers)}`;
  return s;
}

/** "f 1280×720 1.5 Mbit/s 12 kf, h …": a simulcast track's layers, best first. */
export function describeLayers(layers) {
  return [...layers]
    .sort((a, b) => (b.width || 0) * (b.height || 0) - (a.width || 0) * (a.height || 0) || b.bitrate_bps - a.bitrate_bps)
    .map((l) => {
      const size = l.width && l.height ? ` ${l.width}×${l.height}` : "";
      return l.active ? `${l.rid}${size} ${formatBitrate(l.bitrate_bps)} ${l.keyframes} kf` : `${l.rid}${size} off`;
    })
    .join(", ");
}

/**
 * The readers' simulcast layers: a summary ("f×2, q×1", and how many have
 * their video paused) and one line per reader.
 */
export function describeReaderLayers(readers) {
  const counts = new Map();
  const lines = [];
  for (const r of readers || []) {
    if (!r.layer) continue;
    counts.set(r.layer.rid, (counts.get(r.layer.rid) || 0) + 1);
    let line = `${r.id}: ${r.layer.rid} (${r.layer.choice}`;
    if (r.layer.target) line += `, switching to ${r.layer.target}`;
    line += ")";
    if (r.video_paused) line += ", video paused";
    lines.push(line);
  }
  const paused = (readers || []).filter((r) => r.video_paused).length;
  let summary = [...counts].map(([rid, n]) => `${rid}×${n}`).join(", ");
  if (paused) summary += `${summary ? ", " : ""}${paused} video paused`;
  return { summary, lines };
}

export function describeViewers(v, readers) {
  const whep = v ? v.whep || 0 : (readers || []).filter((r) => r.kind === "whep").length;
  const rtsp = v ? v.rtsp || 0 : (readers || []).filter((r) => r.kind === "rtsp").length;
  const parts = [`${whep} WHEP`];
  if (rtsp) parts.push(`${rtsp} RTSP`);
  return { total: whep + rtsp, text: parts.join(" · ") };
}

function authHeaders() {
  return token ? { Authorization: "Bearer " + token } : {};
}

/**
 * The visible line changes every second ("updated 12:00:01"); screen
 * readers only hear the summary, and only when it changes.
 */
function setApiStatus(text, bad, summary = text) {
  $("api-status").textContent = text;
  $("api-status").classList.toggle("bad", !!bad);
  setText($("announce"), summary);
}

/** Updates a cell's text only when it changed (no flicker, no lost focus). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function newRow(name) {
  const tr = document.createElement("tr");
  tr.dataset.name = name;
  const cells = ["name", "state", "source", "tracks", "ingest", "viewers", "uptime", "actions"].map((k) => {
    const td = document.createElement(k === "name" ? "th" : "td");
    if (k === "name") td.scope = "row";
    td.className = k;
    td.dataset.label = k[0].toUpperCase() + k.slice(1);
    tr.append(td);
    return td;
  });
  const enc = namePath(name);
  const strong = document.createElement("a");
  strong.href = `/watch/${enc}`;
  strong.textContent = name;
  cells[0].append(strong);
  const badge = document.createElement("span");
  badge.className = "badge";
  cells[1].append(badge);
  const watch = document.createElement("a");
  watch.href = `/watch/${enc}`;
  watch.className = "button small";
  watch.textContent = "Watch";
  watch.setAttribute("aria-label", `Watch ${name}`);
  const publish = document.createElement("a");
  publish.href = `/publish/${enc}`;
  publish.className = "button small ghost publish-link";
  publish.textContent = "Publish";
  publish.setAttribute("aria-label", `Publish to ${name}`);
  cells[7].append(watch, " ", publish);
  controls.addRowControls(tr, name);
  return tr;
}

/**
 * The viewers cell: the count, and for a simulcast stream each reader's
 * layer in a disclosure (rebuilt only when it changes, so it stays open).
 */
function renderViewers(cell, text, layers) {
  if (!cell.firstChild) cell.append(document.createElement("span"));
  setText(cell.firstChild, text);
  let details = cell.querySelector("details");
  if (!layers.lines.length) {
    if (details) details.remove();
    return;
  }
  if (!details) {
    details = document.createElement("details");
    details.className = "layers";
    details.append(document.createElement("summary"), document.createElement("ul"));
    cell.append(details);
  }
  setText(details.firstChild, `layers: ${layers.summary}`);
  const ul = details.lastChild;
  const key = layers.lines.join("\n");
  if (ul.dataset.key !== key) {
    ul.dataset.key = key;
    ul.replaceChildren(...layers.lines.map((l) => Object.assign(document.createElement("li"), { textContent: l })));
  }
}

function render(items) {
  const seen = new Set();
  const tbody = $("streams").querySelector("tbody");
  items.sort((a, b) => a.name.localeCompare(b.name));
  let prev = null;
  for (const it of items) {
    seen.add(it.name);
    let tr = rows.get(it.name);
    if (!tr) {
      tr = newRow(it.name);
      rows.set(it.name, tr);
    }
    // Keep the sorted order with minimal DOM moves.
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
    const c = tr.children;
    const badge = c[1].firstChild;
    badge.dataset.state = it.state;
    setText(badge, STATE_LABEL[it.state] || it.state);
    let src = it.source ? SOURCE_LABEL[it.source.kind] || it.source.kind : "—";
    if (it.source && it.source.kind === "relay") src += ` from ${it.source.origin_node}`;
    setText(c[2], src + (it.source && it.source.url ? ` ${it.source.url}` : ""));
    const tracks = [...(it.tracks || [])].sort((x, y) => (x.kind === y.kind ? x.index - y.index : x.kind === "video" ? -1 : 1));
    setText(c[3], tracks.map(describeTrack).join(", ") || "—");
    setText(c[4], it.state === "live" || it.ingest_bitrate_bps ? formatBitrate(it.ingest_bitrate_bps) : "—");
    const v = describeViewers(it.viewers, it.readers);
    renderViewers(c[5], v.text, describeReaderLayers(it.readers));
    c[5].dataset.total = String(v.total);
    setText(c[6], it.state === "live" ? formatDuration(it.uptime_seconds) : "—");
    // An RTSP camera stream is fed by the gateway itself: nothing to publish.
    tr.querySelector(".publish-link").hidden = !!(it.source && it.source.kind === "rtsp-source");
    controls.updateRow(tr, it);
  }
  for (const [name, tr] of rows) {
    if (!seen.has(name)) {
      tr.remove();
      rows.delete(name);
    }
  }
  $("streams").hidden = items.length === 0;
  $("empty").hidden = items.length !== 0;
}

async function poll() {
  let resp;
  try {
    resp = await fetch("/api/v1/streams", { headers: authHeaders(), cache: "no-store" });
  } catch {
    setApiStatus("Cannot reach the gateway — retrying…", true);
    return;
  }
  if (resp.status === 401 || resp.status === 403) {
    $("add-camera").hidden = true;
    $("streams").hidden = true;
    let detail = "";
    try {
      detail = (await resp.json()).detail || "";
    } catch {
      // not problem+json
    }
    if (resp.status === 403) {
      // No admin token configured and we are not on loopback: a token
      // field would not help; the gateway's words say what to configure.
      $("admin-form").hidden = true;
      setApiStatus(`The control API refused this browser: ${detail}`, true);
      return "auth";
    }
    $("admin-form").hidden = false;
    setApiStatus(token ? "Admin token rejected — check it and try again." : "Enter the admin token to see the streams.", true);
    if (!token) $("admin-token").focus();
    return "auth";
  }
  if (!resp.ok) {
    setApiStatus(`The control API answered HTTP ${resp.status} — retrying…`, true);
    if (resp.status === 404) renderEmptyFallback();
    return;
  }
  $("admin-form").hidden = true;
  $("add-camera").hidden = false;
  const items = (await resp.json()).items || [];
  render(items);
  const live = items.filter((s) => s.state === "live").length;
  const summary = `${items.length} stream${items.length === 1 ? "" : "s"}, ${live} live`;
  setApiStatus(`${summary} · updated ${new Date().toLocaleTimeString()}`, false, summary);
}

let clusterPolls = 0;
let clustered = true; // until the gateway says it is not (404)

/** The Cluster panel: every node and who owns which stream. */
async function pollCluster() {
  if (!clustered || clusterPolls++ % CLUSTER_EVERY !== 0) return;
  let resp;
  try {
    resp = await fetch("/api/v1/cluster", { headers: authHeaders(), cache: "no-store" });
  } catch {
    return;
  }
  if (resp.status === 404) {
    clustered = false; // a single gateway: no panel
    $("cluster").hidden = true;
    $("cluster").dataset.clustered = "no";
    return;
  }
  $("cluster").hidden = false;
  $("cluster").dataset.clustered = "yes";
  if (!resp.ok) {
    setText($("cluster-status"), resp.status === 503 ? "Redis is unreachable: nodes serve their own streams and running relays." : `HTTP ${resp.status}`);
    $("cluster-status").classList.add("bad");
    return;
  }
  const snap = await resp.json();
  $("cluster-status").classList.remove("bad");
  setText($("cluster-status"), `${snap.nodes.length} node${snap.nodes.length === 1 ? "" : "s"}; this is ${snap.self}`);
  const tbody = $("cluster-nodes").querySelector("tbody");
  const want = snap.nodes.map((n) => [n.id + (n.self ? " (this node)" : ""), n.url, String(n.streams), String(n.viewers),
    String(n.relays), `${Math.round(n.cpu_percent)} %`, n.full ? "full" : `${Math.round(n.load * 100)} %`]);
  while (tbody.children.length > want.length) tbody.lastChild.remove();
  want.forEach((cells, i) => {
    let tr = tbody.children[i];
    if (!tr) {
      tr = document.createElement("tr");
      cells.forEach((_, j) => tr.append(document.createElement(j === 0 ? "th" : "td")));
      tr.firstChild.scope = "row";
      tbody.append(tr);
    }
    tr.dataset.node = snap.nodes[i].id;
    cells.forEach((text, j) => setText(tr.children[j], text));
  });
  const owners = snap.streams.map((st) => `${st.name} → ${st.origin_node}`).join(", ");
  setText($("cluster-owners"), owners ? `Published on: ${owners}` : "No stream is published in the cluster.");
}

/** Without an API the instructions are still useful. */
function renderEmptyFallback() {
  $("empty").hidden = false;
}

function urlFor(kind, name) {
  const tpl = info && info.urls && info.urls[kind];
  if (tpl && tpl.includes("{name}")) {
    // The API knows the configured public address; but if the page is
    // served on another host (proxy), the page's own origin is what works
    // for this visitor's browser.
    if (kind !== "rtsp") {
      const u = new URL(tpl.replace("{name}", namePath(name)));
      return `${window.location.origin}${u.pathname}`;
    }
    return tpl.replace("{name}", namePath(name));
  }
  if (kind === "rtsp") return "";
  return `${window.location.origin}/${kind}/${namePath(name)}`;
}

function renderHowto() {
  const raw = $("new-name").value.trim();
  const name = validName(raw) ? raw : "mystream";
  const whip = urlFor("whip", name);
  $("howto-browser").href = `/publish/${namePath(name)}`;
  $("howto-browser").textContent = `Publish ${name}`;
  $("howto-obs-url").textContent = whip;
  $("howto-ffmpeg").textContent =
    "ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \\\n" +
    "  -c:v libx264 -preset veryfast -tune zerolatency -profile:v baseline -pix_fmt yuv420p -g 60 -b:v 2500k \\\n" +
    "  -c:a libopus -ar 48000 -ac 2 -b:a 128k \\\n" +
    `  -f whip "${whip}"`;
  $("howto-ffmpeg-file").textContent =
    "ffmpeg -re -stream_loop -1 -i input.mp4 \\\n" +
    "  -c:v libx264 -preset veryfast -tune zerolatency -bf 0 -pix_fmt yuv420p -g 60 -b:v 2500k \\\n" +
    "  -c:a libopus -ar 48000 -ac 2 -b:a 128k \\\n" +
    `  -f whip "${whip}"`;
  const rtsp = urlFor("rtsp", name);
  $("howto-rtsp").hidden = !rtsp;
  $("howto-rtsp-url").textContent = rtsp;
  $("howto-rtsp-publish").textContent =
    "ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \\\n" +
    "  -c:v libx264 -preset veryfast -tune zerolatency -bf 0 -pix_fmt yuv420p -g 60 -b:v 2500k \\\n" +
    "  -c:a libopus -ar 48000 -ac 2 -b:a 128k \\\n" +
    `  -f rtsp -rtsp_transport tcp "${rtsp}"`;
  $("howto-watch").href = `/watch/${namePath(name)}`;
  $("howto-whep").textContent = urlFor("whep", name);
}

async function loadInfo() {
  try {
    const resp = await fetch("/api/v1/info", { headers: authHeaders(), cache: "no-store" });
    if (resp.ok) info = await resp.json();
  } catch {
    // optional
  }
  renderHowto();
}

const controls = createControls({
  headers: authHeaders,
  say: (text, bad) => {
    $("control-status").textContent = text;
    $("control-status").classList.toggle("bad", !!bad);
  },
  refresh: () => loop(),
});
controls.bindCameraForm($("camera-form"));

let timer = 0;
let polling = false; // one poll at a time
let again = false; // asked for while one ran: poll once more right after
async function loop() {
  clearTimeout(timer);
  if (polling) {
    again = true;
    return;
  }
  polling = true;
  let r;
  try {
    r = await poll();
    if (r !== "auth") await pollCluster();
  } finally {
    polling = false;
  }
  if (again) {
    again = false;
    loop();
    return;
  }
  // Stop hammering with a bad token; the form restarts the loop.
  if (r === "auth") return;
  timer = setTimeout(loop, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
}

$("admin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("admin-token").value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  loadInfo();
  loop();
});
$("new-name").addEventListener("input", renderHowto);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) loop();
});

renderHowto();
loadInfo();
loop();
