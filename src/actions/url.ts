/**
 * HTTP targets without secrets or unbounded cardinality (CONTRACT §3 "HTTP client"). `url.full` carries
 * query strings (API keys, tokens), userinfo and per-object ids; a target keeps only the host and the
 * path with id-like segments replaced by `{id}`. Hand-written scanning instead of `new URL()`: it never
 * throws on the odd values instrumentations emit and allocates only the pieces it returns.
 */

/**
 * Longest path templated; the rest is cut. It bounds the work a crafted URL costs, not the target: a target
 * over 256 characters is bounded afterwards to its first 239 and a digest of the whole (bounds.ts), so
 * paths that differ only past the 256th character stay distinct (review34 E6: cut at 256 here first, they
 * were one target). Paths that differ only past this cap are one.
 */
const MAX_PATH = 4096;

/** Where the authority of an absolute URL sits, or null for a relative reference. */
function authorityBounds(url: string): { start: number; end: number } | null {
  const scheme = url.indexOf('://');
  if (scheme <= 0 || scheme > 16) return null;
  const start = scheme + 3;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  return { start, end };
}

/** The lower-cased host of an absolute URL (no userinfo, no port, IPv6 without brackets), or null. */
export function urlHost(url: string): string | null {
  const a = authorityBounds(url);
  if (!a) return null;
  let authority = url.slice(a.start, a.end);
  const at = authority.lastIndexOf('@'); // userinfo holds credentials: never kept
  if (at >= 0) authority = authority.slice(at + 1);
  return hostOfAuthority(authority);
}

/** `host[:port]` or `[v6][:port]` -> host, lower-cased; null when empty. */
export function hostOfAuthority(authority: string): string | null {
  let host: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    host = close > 0 ? authority.slice(1, close) : authority.slice(1);
  } else {
    const colon = authority.indexOf(':');
    // More than one colon without brackets is a bare IPv6 literal, not host:port.
    host = colon >= 0 && authority.indexOf(':', colon + 1) < 0 ? authority.slice(0, colon) : authority;
  }
  return host === '' ? null : host.toLowerCase();
}

/** The path of a URL or of an origin-form request target, without query or fragment; '/' when empty. */
export function urlPath(url: string): string {
  const a = authorityBounds(url);
  const start = a ? a.end : 0;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  return end > start ? url.slice(start, end) : '/';
}

/**
 * True for a path segment that names one object rather than a route: all digits, a UUID, hex of 16+
 * characters, an email address, anything with 4+ digits (dates, numbered files, `v20240101`), long
 * opaque tokens (16+ characters with a digit, or 32+ characters of anything), and keys (`PREFIXED_KEY`).
 */
export function isIdSegment(seg: string): boolean {
  const n = seg.length;
  if (n === 0) return false;
  let digits = 0;
  let hex = 0;
  let dashes = 0;
  let underscores = 0;
  for (let i = 0; i < n; i++) {
    const c = seg.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      hex++;
    } else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) hex++;
    else if (c === 45) dashes++;
    else if (c === 95) underscores++;
    else if (c === 64 /* @ */) return true;
  }
  if (digits === n) return true;
  if (n === 36 && dashes === 4 && hex === 32) return true; // UUID
  if (n >= 16 && hex === n) return true;
  if (digits >= 4) return true;
  if (n >= 16 && digits > 0) return true;
  if (n >= 32) return true;
  return dashes + underscores > 0 && PREFIXED_KEY.test(seg);
}

/**
 * An object's key made of a prefix and a generated tail (review38 H1: one target, and one new-target alert,
 * per issue read): an issue key (`SUP-123`: an upper-case project key, `-`, a number), or a prefixed id
 * (`cus_9s6XKzkNRiz8i3`, `asst_abc123XYZ`: a lower-case prefix, `_`, 8+ letters and digits with a digit).
 * Not names people give (review39 H2: `prod-01`, `HR-Compensation`, `IT-KnowledgeBase` name what a
 * sensitive target names), nor `api-v2`, `get_user`.
 */
const PREFIXED_KEY = /^(?:[A-Z][A-Z0-9]{0,9}-[0-9]+|[a-z]{2,8}_(?=[A-Za-z]*[0-9])[A-Za-z0-9]{8,})$/;

/** A file name's extension: a letter, then up to four letters or digits. */
const EXTENSION = /^[a-z][a-z0-9]{0,4}$/;

const ID = '{id}';

/**
 * What a path segment becomes in a target: `{id}` for an object's id, `{id}.pdf` for a file named by an
 * id (its type kept: `TCK-987.json`, `scan-20240115.pdf`), or null for a route segment. A file named by a
 * person (`salaries.xlsx`, `report-final.pdf`) stays itself, like a slug: its name says what it holds,
 * and reading one file of a folder is not deleting another (README).
 */
export function segmentTemplate(seg: string): string | null {
  const dot = seg.lastIndexOf('.');
  if (dot > 0 && !seg.includes('@')) {
    const ext = seg.slice(dot + 1).toLowerCase();
    if (EXTENSION.test(ext) && isIdSegment(seg.slice(0, dot))) return `${ID}.${ext}`;
  }
  return isIdSegment(seg) ? ID : null;
}

/**
 * A path with id-like segments replaced by `{id}` (files by `{id}.ext`) and matrix parameters (`;jsessionid=…`) dropped,
 * capped at `MAX_PATH` characters; always starts with '/'. A path without ids comes back as the same
 * string, so the common case allocates no new target text.
 */
export function templatePath(path: string): string {
  if (path.length > MAX_PATH) path = path.slice(0, MAX_PATH);
  const parts: string[] = [];
  let changed = path.charCodeAt(0) !== 47;
  let segStart = changed ? 0 : 1;
  for (let i = segStart; i <= path.length; i++) {
    if (i < path.length && path.charCodeAt(i) !== 47) continue;
    let seg = path.slice(segStart, i);
    const semi = seg.indexOf(';');
    if (semi >= 0) {
      seg = seg.slice(0, semi);
      changed = true;
    }
    const template = segmentTemplate(seg);
    if (template !== null) {
      seg = template;
      changed = true;
    }
    parts.push(seg);
    segStart = i + 1;
  }
  return changed ? `/${parts.join('/')}` : path;
}

/** `host` + `path`, the HTTP target form (`api.example.com/users/{id}`). */
export function httpTarget(host: string | null, path: string): string {
  const p = path.charCodeAt(0) === 47 ? path : `/${path}`;
  return host === null ? p : host + p;
}
