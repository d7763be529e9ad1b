// Small helpers shared by the pages.

/** The stream name in /PREFIX/NAME, decoded, or "" if absent. */
export function nameFromPath(prefix) {
  const m = window.location.pathname.match(new RegExp(`^/${prefix}/([^/]+)/?$`));
  return m ? decodeURIComponent(m[1]) : "";
}

/** A query parameter ("" if absent). */
export function param(key) {
  return new URLSearchParams(window.location.search).get(key) || "";
}

/** Same rule as the gateway's stream names. */
export function validName(name) {
  return /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/.test(name);
}

/** Copies text, falling back to selecting it for Ctrl+C. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
    }
    return false;
  }
}

/** The one-line embed snippet for stream name on this gateway. */
export function embedSnippet(name) {
  const src = `${window.location.origin}/embed/${encodeURIComponent(name)}`;
  return `<iframe src="${src}" width="640" height="360" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen style="border:0"></iframe>`;
}
