/**
 * Receiver and broker URLs as they may be printed in an error, a log line or a stored row. A URL can
 * carry a secret in three places: user-info (`https://user:pass@siem.example`), the query
 * (`?token=…`) and the path (Slack-style `/services/T0/B0/XXXX`). Printed, a URL is only its origin —
 * the same rule as the `webhooks[0] (https://siem.example)` labels — so none of the three can leak.
 */
import { REDACTED } from '../redaction.js';

/** Anything shaped like an absolute URL inside free text (up to whitespace or a quote). */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/**
 * The printable form of `url`: its origin, marked when user-info or a path or query was cut, so the
 * operator still sees which receiver it was. A URL that does not parse is cut after its authority.
 */
export function printableUrl(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // fall through: cut by hand below
  }
  if (parsed && parsed.origin !== 'null') {
    const userInfo = parsed.username !== '' || parsed.password !== '' ? `${REDACTED}@` : '';
    const rest = parsed.pathname.length > 1 || parsed.search !== '' || parsed.hash !== '' ? `/${REDACTED}` : '';
    return `${parsed.protocol}//${userInfo}${parsed.host}${rest}`;
  }
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^/?#@]*@)?([^/?#]*)(.*)$/is.exec(url);
  return m ? `${m[1]}${m[2]}${m[3] ? `/${REDACTED}` : ''}` : REDACTED;
}

/**
 * The form of `url` kept in SQLite as an endpoint's identity (webhook_outbox.endpoint): without
 * user-info, so a password never reaches a row. Path and query stay: they tell endpoints apart.
 */
export function storedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url;
  }
}

/**
 * `text` with every URL in it made printable, and the secrets of `url` (its password, user name and query
 * values, also percent-decoded) cut wherever else they appear: a message may quote part of a URL.
 */
export function redactUrls(text: string, url?: string): string {
  // The known URL whole first: one that does not parse (a space in it) is not found whole by URL_IN_TEXT.
  let out = url === undefined || url === '' ? text : text.split(url).join(printableUrl(url));
  out = out.replace(URL_IN_TEXT, (found) => printableUrl(found));
  for (const secret of url === undefined ? [] : secretsOf(url)) out = out.split(secret).join(REDACTED);
  return out;
}

/** The parts of `url` that may be secret, longest first, skipping ones too short to be told from prose. */
function secretsOf(url: string): string[] {
  let parts: string[];
  try {
    const parsed = new URL(url);
    parts = [parsed.password, parsed.username, ...parsed.searchParams.values()];
  } catch {
    // Not a URL to the parser: take what sits where user-info and query values would.
    const m = /^[a-z][a-z0-9+.-]*:\/\/(?:([^/?#@]*)@)?[^?#]*(?:\?([^#]*))?/is.exec(url);
    parts = [...(m?.[1]?.split(':') ?? []), ...(m?.[2]?.split('&').map((kv) => kv.slice(kv.indexOf('=') + 1)) ?? [])];
  }
  const all = parts.flatMap((p) => [p, safeDecode(p)]).filter((p) => p.length >= 4);
  return [...new Set(all)].sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
