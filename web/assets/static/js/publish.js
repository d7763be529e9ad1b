// /publish/NAME: capture camera, microphone or screen and publish over WHIP.
import { WhipPublisher, sendableVideoCodecs } from "./whip-publisher.js";
import { nameFromPath, namePath, nameRule, param, validName, copyText, embedSnippet } from "./page.js";

const $ = (id) => document.getElementById(id);
const form = $("publish-form");
const preview = $("preview");
const fields = ["name", "source", "camera", "mic", "resolution", "fps", "codec", "simulcast", "token"].map($);

$("name").value = nameFromPath("publish") || param("name");
$("token").value = param("token");
$("simulcast").checked = param("simulcast") === "1";
$("title-name").textContent = $("name").value;

// Offer the codecs this browser can encode; H.264 first (every browser and
// most hardware decode it), the rest as the browser lists them.
const codecs = sendableVideoCodecs();
codecs.sort((a, b) => (a === "H264" ? -1 : b === "H264" ? 1 : 0));
for (const c of codecs.length ? codecs : ["H264"]) {
  $("codec").append(new Option(c === "H265" ? "H.265 (HEVC)" : c === "H264" ? "H.264" : c, c));
}

let media = null; // MediaStream being previewed/sent
let publisher = null;

function setStatus(state, message, detail = "") {
  $("state-pill").dataset.state = state;
  $("state-pill").textContent = { idle: "Not live", connecting: "Connecting", live: "Live", reconnecting: "Reconnecting", error: "Error", stopped: "Not live", capture: "Preview" }[state] || state;
  $("state-msg").textContent = message;
  $("state-detail").textContent = detail;
  document.body.dataset.publishState = state;
}

/** Words for getUserMedia / getDisplayMedia failures. */
function captureError(err, wantsScreen) {
  switch (err && err.name) {
    case "NotAllowedError":
      return wantsScreen ? "Screen sharing was cancelled or blocked." : "Camera or microphone permission was denied. Allow it in the address bar and try again.";
    case "NotFoundError":
      return "No camera or microphone was found.";
    case "NotReadableError":
      return "The camera or microphone is in use by another application.";
    case "OverconstrainedError":
      return "The camera cannot do the chosen resolution or frame rate. Pick a lower one.";
    case "TypeError":
      return "This page must be opened over HTTPS (or on localhost) to use the camera.";
    default:
      return String((err && err.message) || err);
  }
}

async function capture() {
  const source = $("source").value;
  const [w, h] = $("resolution").value.split("x").map(Number);
  const fps = Number($("fps").value);
  const video = { width: { ideal: w }, height: { ideal: h }, frameRate: { ideal: fps } };
  if ($("camera").value) video.deviceId = { exact: $("camera").value };
  const audio = $("mic").value ? { deviceId: { exact: $("mic").value } } : true;
  if (!navigator.mediaDevices) throw Object.assign(new Error("no mediaDevices"), { name: "TypeError" });
  let stream;
  if (source.startsWith("screen")) {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: fps }, width: { max: w }, height: { max: h } }, audio: true });
    if (source === "screen+mic") {
      const mic = await navigator.mediaDevices.getUserMedia({ audio });
      stream.getAudioTracks().forEach((t) => {
        stream.removeTrack(t);
        t.stop();
      });
      stream.addTrack(mic.getAudioTracks()[0]);
    }
  } else {
    stream = await navigator.mediaDevices.getUserMedia({
      video: source === "mic" ? false : video,
      audio: source === "camera" ? false : audio,
    });
  }
  return stream;
}

async function fillDevices() {
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [kind, id] of [["videoinput", "camera"], ["audioinput", "mic"]]) {
      const sel = $(id);
      const keep = sel.value;
      sel.replaceChildren(new Option("Default", ""));
      devices.filter((d) => d.kind === kind && d.deviceId).forEach((d, i) => sel.append(new Option(d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId)));
      sel.value = keep;
    }
  } catch {
    // Device lists are a convenience.
  }
}

function stopMedia() {
  if (media) media.getTracks().forEach((t) => t.stop());
  media = null;
  preview.srcObject = null;
  $("preview-empty").hidden = false;
}

async function startPreview() {
  stopMedia();
  setStatus("capture", "Starting capture…");
  try {
    media = await capture();
  } catch (err) {
    setStatus("error", "Cannot capture", captureError(err, $("source").value.startsWith("screen")));
    return false;
  }
  preview.srcObject = media;
  $("preview-empty").hidden = true;
  preview.play().catch(() => {});
  // If the user stops sharing from the browser's own UI, stop publishing.
  media.getVideoTracks().forEach((t) => t.addEventListener("ended", () => stop()));
  setStatus("capture", "Preview — not live yet");
  fillDevices();
  return true;
}

function lock(live) {
  fields.forEach((f) => (f.disabled = live));
  $("preview-btn").disabled = live;
  $("golive").disabled = live;
  $("stop").disabled = !live && !media;
}

function showShare(name) {
  const url = `${window.location.origin}/watch/${namePath(name)}`;
  $("watch-url").value = url;
  $("watch-open").href = url;
  $("embed-code").value = embedSnippet(name);
  $("share").hidden = false;
}

async function goLive(ev) {
  ev.preventDefault();
  const name = $("name").value.trim();
  if (!validName(name)) {
    setStatus("error", "Invalid stream name", `Use ${nameRule}`);
    $("name").focus();
    return;
  }
  lock(true);
  if (!media && !(await startPreview())) {
    lock(false);
    return;
  }
  history.replaceState(null, "", `/publish/${namePath(name)}`);
  $("title-name").textContent = name;
  document.title = `Publishing ${name} — wishgate`;
  publisher = new WhipPublisher(`/whip/${namePath(name)}`, media, {
    token: $("token").value.trim(),
    codec: media.getVideoTracks().length ? $("codec").value : "",
    maxBitrate: Number($("bitrate").value),
    maxFramerate: Number($("fps").value),
    simulcast: $("simulcast").checked,
  });
  window.wishgate.publisher = publisher;
  publisher.addEventListener("state", (e) => {
    const d = e.detail;
    setStatus(d.state, d.message, d.detail || "");
    if (d.state === "live") showShare(name);
    if (d.state === "error") {
      publisher = null; // it gave up; the form is the user's again
      lock(false);
    }
  });
  publisher.addEventListener("stats", (e) => {
    $("send-stats").textContent = "Sending " + e.detail.text;
  });
  publisher.start();
}

async function stop() {
  if (publisher) {
    const p = publisher;
    publisher = null;
    await p.stop();
  }
  stopMedia();
  $("send-stats").textContent = "";
  setStatus("stopped", "Stopped");
  lock(false);
}

form.addEventListener("submit", goLive);
$("preview-btn").addEventListener("click", async () => {
  if (await startPreview()) $("stop").disabled = false;
});
$("stop").addEventListener("click", stop);
$("bitrate").addEventListener("change", () => publisher && publisher.setMaxBitrate(Number($("bitrate").value)));
// A capture setting changed while previewing (not live: the fields are
// locked then): capture again so that Go live sends what the form says.
for (const id of ["source", "camera", "mic", "resolution", "fps"]) {
  $(id).addEventListener("change", () => {
    if (media && !publisher) startPreview();
  });
}
$("name").addEventListener("input", () => ($("title-name").textContent = $("name").value));
for (const btn of document.querySelectorAll("[data-copy]")) {
  btn.addEventListener("click", async () => {
    const input = $(btn.dataset.copy);
    btn.textContent = (await copyText(input.value, input)) ? "Copied" : "Press Ctrl+C";
  });
}
window.addEventListener("pagehide", () => publisher && publisher.stop());

setStatus("idle", "");
window.wishgate = { publisher: null };
