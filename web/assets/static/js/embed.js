// /embed/NAME: the player alone, filling an <iframe>.
import { mountPlayer } from "./player-ui.js";
import { nameFromPath, param } from "./page.js";

const name = nameFromPath("embed");
document.title = `${name} — wishgate`;
const player = mountPlayer(document.getElementById("player"), {
  name,
  token: param("token"),
  showStats: param("stats") === "1",
  layer: param("layer"),
  globalKeys: true,
});
window.wishgate = { player };
