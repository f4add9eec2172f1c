/**
 * How long the names taken from spans may be. Every name becomes a key: of an identity's record and
 * baseline, of its peer group's items (once per member), of alerts. Spans are written by whoever can
 * reach a receiver, so without a bound a few exports of megabyte-long names fill the disk and the hot
 * set (a 1 MB identity cost ~17 MB of store). Real names are short; the bounds are far above them.
 */
import { createHash } from 'node:crypto';

/** Longest identity accepted (a SPIFFE ID is at most 2048 bytes); a span naming a longer one is rejected. */
export const MAX_IDENTITY_CHARS = 2048;
/** Longest name kept as sent: target, tool, host, peer group, agent, scope, tool call id. */
export const MAX_NAME_CHARS = 256;
/** Scopes kept per span (`nhi.scopes`); the rest are dropped. */
export const MAX_SCOPES = 64;
/**
 * Longest credential id kept. A longer one is dropped rather than cut: revocation must name the
 * credential exactly, and no broker's ids come near this.
 */
export const MAX_CREDENTIAL_CHARS = 1024;

/** Characters kept from a long name; the rest of MAX_NAME_CHARS holds "…" and a 16-digit digest. */
const KEPT_CHARS = MAX_NAME_CHARS - 17;

/**
 * A name of at most MAX_NAME_CHARS: a longer one becomes its start, "…", and a digest of the whole, so
 * distinct long names stay distinct and one name always gives the same bounded form (it is a baseline
 * key). The cut never splits a surrogate pair, which would store invalid UTF-8.
 */
export function boundName(name: string): string {
  if (name.length <= MAX_NAME_CHARS) return name;
  const cut = isHighSurrogate(name.charCodeAt(KEPT_CHARS - 1)) ? KEPT_CHARS - 1 : KEPT_CHARS;
  return `${name.slice(0, cut)}…${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
