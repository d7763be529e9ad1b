// /watch/NAME: the full-page player.
import { mountPlayer } from "./player-ui.js";
import { nameFromPath, namePath, param, embedSnippet, copyText } from "./page.js";

const name = nameFromPath("watch");
document.title = `${name} — wishgate`;
document.getElementById("stream-name").textContent = name;
const player = mountPlayer(document.getElementById("player"), {
  name,
  token: param("token"),
  showStats: param("stats") === "1",
  layer: param("layer"),
  globalKeys: true,
});

const snippet = document.getElementById("embed-code");
snippet.value = embedSnippet(name);
document.getElementById("copy-embed").addEventListener("click", async (ev) => {
  ev.currentTarget.textContent = (await copyText(snippet.value, snippet)) ? "Copied" : "Press Ctrl+C";
});
document.getElementById("publish-link").href = `/publish/${namePath(name)}`;

// For people poking at the console, and for the browser tests.
window.wishgate = { player };
