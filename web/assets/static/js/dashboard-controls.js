// The dashboard's controls over the control API: end a stream, kick one of
// its sessions, add and remove RTSP camera sources. Every call carries the
// admin token the dashboard holds; a destructive button asks for a second
// click (its label says what the second one does) instead of a dialog.
import { namePath, validName } from "./page.js";

const ARM_MS = 4000;

/**
 * @param {object} o
 * @param {() => object} o.headers  the Authorization header, if any
 * @param {(text: string, bad?: boolean) => void} o.say  a status line for results
 * @param {() => void} o.refresh  polls the streams again at once
 */
export function createControls({ headers, say, refresh }) {
  async function call(method, path, body) {
    const init = { method, headers: { ...headers() }, cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch {
      return { ok: false, detail: "the gateway cannot be reached" };
    }
    if (resp.ok) return { ok: true, status: resp.status };
    let detail = `HTTP ${resp.status}`;
    try {
      const p = await resp.json();
      if (p.detail) detail = p.detail;
    } catch {
      // not problem+json
    }
    return { ok: false, status: resp.status, detail };
  }

  /** A button that acts on its second click within ARM_MS. */
  function armed(label, confirmLabel, aria, act) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small danger";
    b.textContent = label;
    b.setAttribute("aria-label", aria);
    let timer = 0;
    b.addEventListener("click", async () => {
      if (b.dataset.armed !== "yes") {
        b.dataset.armed = "yes";
        b.textContent = confirmLabel;
        timer = setTimeout(() => {
          delete b.dataset.armed;
          b.textContent = label;
        }, ARM_MS);
        return;
      }
      clearTimeout(timer);
      delete b.dataset.armed;
      b.textContent = label;
      b.disabled = true;
      try {
        await act();
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  function report(r, done, failed) {
    if (r.ok) say(done);
    else say(`${failed}: ${r.detail}`, true);
    refresh();
  }

  /** Adds the row's control buttons once; updateRow keeps them current. */
  function addRowControls(tr, name) {
    const actions = tr.querySelector(".actions");
    const end = armed("End stream", "Confirm: end", `End stream ${name}`, async () =>
      report(await call("DELETE", `/api/v1/streams/${namePath(name)}`), `Stream ${name} ended.`, `Stream ${name} not ended`));
    end.classList.add("end-stream");
    const remove = armed("Remove camera", "Confirm: remove", `Remove camera ${name}`, async () =>
      report(await call("DELETE", `/api/v1/sources/${namePath(name)}`), `Camera ${name} removed.`, `Camera ${name} not removed`));
    remove.classList.add("remove-camera");
    remove.hidden = true;
    const sessions = document.createElement("details");
    sessions.className = "sessions";
    const summary = document.createElement("summary");
    const list = document.createElement("ul");
    sessions.append(summary, list);
    actions.append(" ", end, " ", remove, sessions);
  }

  /** Updates the camera button and the session list of a row in place. */
  function updateRow(tr, it) {
    tr.querySelector(".remove-camera").hidden = !(it.source && it.source.kind === "rtsp-source");
    const all = [];
    if (it.source && it.source.session_id) {
      all.push({ id: it.source.session_id, what: `publisher (${it.source.kind})`, addr: it.source.remote_addr });
    }
    for (const r of it.readers || []) all.push({ id: r.id, what: `${r.kind} reader`, addr: r.remote_addr });
    const details = tr.querySelector(".sessions");
    const summary = details.firstChild;
    const text = `Sessions (${all.length})`;
    if (summary.textContent !== text) summary.textContent = text;
    const list = details.lastChild;
    const want = new Set(all.map((s) => s.id));
    for (const li of [...list.children]) if (!want.has(li.dataset.session)) li.remove();
    for (const s of all) {
      if (list.querySelector(`li[data-session="${CSS.escape(s.id)}"]`)) continue;
      const li = document.createElement("li");
      li.dataset.session = s.id;
      const label = document.createElement("span");
      label.textContent = `${s.what} ${s.addr || ""} `;
      const kick = armed("Kick", "Confirm: kick", `Kick session ${s.id} (${s.what})`, async () =>
        report(await call("DELETE", `/api/v1/sessions/${encodeURIComponent(s.id)}`), `Session ${s.id} kicked.`, `Session ${s.id} not kicked`));
      kick.classList.add("kick");
      li.append(label, kick);
      list.append(li);
    }
  }

  /** The "Add a camera" form: PUT /api/v1/sources/NAME. */
  function bindCameraForm(form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const name = form.elements["camera-name"].value.trim();
      if (!validName(name)) {
        say(`"${name}" is not a valid stream name`, true);
        return;
      }
      const body = {
        url: form.elements["camera-url"].value.trim(),
        on_demand: form.elements["camera-on-demand"].checked,
        transport: form.elements["camera-transport"].value,
      };
      const r = await call("PUT", `/api/v1/sources/${namePath(name)}`, body);
      report(r, r.status === 201 ? `Camera ${name} added.` : `Camera ${name} replaced.`, `Camera ${name} not added`);
      if (r.ok) form.elements["camera-url"].value = "";
    });
  }

  return { addRowControls, updateRow, bindCameraForm };
}
