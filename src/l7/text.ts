/**
 * Server names as they leave the dissectors: ASCII, lower case, bytes outside 0x21..0x7e replaced by
 * "?" (so a name never carries a control character, a space, HTML-significant bytes are kept as
 * text and must be escaped by the view like any other string), at most MAX_NAME characters (the
 * TAIL is kept, as nDPI does: the registrable part of a name is at its end). Never throws.
 */
export const MAX_NAME = 253;

export function cleanName(b: Uint8Array, start: number, end: number): string | null {
  if (start < 0) start = 0;
  if (end > b.length) end = b.length;
  if (end <= start) return null;
  if (end - start > MAX_NAME) start = end - MAX_NAME;
  let s = "";
  for (let i = start; i < end; i++) {
    let c = b[i]!;
    if (c >= 0x41 && c <= 0x5a) c += 32;
    else if (c < 0x21 || c > 0x7e) c = 0x3f;
    s += String.fromCharCode(c);
  }
  // A trailing dot (FQDN form) is dropped: "example.com." and "example.com" are one name.
  while (s.length > 1 && s.endsWith(".")) s = s.slice(0, -1);
  return s;
}

/** The same rules for a JS string (names from config or tests). */
export function cleanNameString(x: string): string | null {
  const b = new Uint8Array(Math.min(x.length, 4 * MAX_NAME));
  const from = Math.max(0, x.length - b.length);
  for (let i = 0; i < b.length; i++) {
    const c = x.charCodeAt(from + i);
    b[i] = c > 0x7e ? 0x3f : c;
  }
  return cleanName(b, 0, b.length);
}
