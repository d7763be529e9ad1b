// Small helpers shared by the pages.

/** The stream name in /PREFIX/NAME (NAME may be site/cam1), decoded, or "" if absent. */
export function nameFromPath(prefix) {
  const m = window.location.pathname.match(new RegExp(`^/${prefix}/(.+?)/?$`));
  return m ? decodeURIComponent(m[1]) : "";
}

/** NAME as a URL path: each part escaped, the slashes between them kept (/watch/site/cam1). */
export function namePath(name) {
  return name.split("/").map(encodeURIComponent).join("/");
}

/** A query parameter ("" if absent). */
export function param(key) {
  return new URLSearchParams(window.location.search).get(key) || "";
}

/** Same rule as the gateway's stream names (streams.ValidName; web_test.go holds them together). */
export const nameRule =
  "1-128 characters: letters, digits, '.', '_', '~', '-', and '/' between parts (as in site/cam1), " +
  "each part starting with a letter or digit.";
export function validName(name) {
  return name.length <= 128 && /^[A-Za-z0-9][A-Za-z0-9._~-]*(\/[A-Za-z0-9][A-Za-z0-9._~-]*)*$/.test(name);
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
  const src = `${window.location.origin}/embed/${namePath(name)}`;
  return `<iframe src="${src}" width="640" height="360" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen style="border:0"></iframe>`;
}
