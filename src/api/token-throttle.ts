/**
 * Throttles guessing of the API token (review25 F5). After FAILURES_ALLOWED requests with a missing or
 * wrong token from one client within WINDOW_MS of its first, that client's requests that need the token
 * are answered 429 with `Retry-After`, without the token being looked at, until that window ends. Not
 * looked at: were a right guess answered 200 among the 429s, guessing would go on unlimited.
 *
 * Per client, so one client's failures never hold back another's requests. A client is its remote address,
 * and an IPv6 one its /64 (the least a network hands a host, which picks the rest of its address at will).
 * Loopback is a client like any other: exempting it would exempt every request a reverse proxy on this host
 * forwards, and let any local user guess without limit. The cost: a local process that guesses holds this
 * host's `vigil` CLI calls off for up to a window (they say 429 and when to retry).
 *
 * Fixed constants rather than config keys: 10 failures a minute let a mistyped token or a scraper with a
 * stale one show in the log and /metrics, and hold a guesser to 14,400 tries a day per address — nothing
 * against a generated 256-bit token, a real brake on a weak configured one.
 */
import { Lru } from '../collections/lru.js';

export const FAILURES_ALLOWED = 10;
export const WINDOW_MS = 60_000;
/**
 * Clients tracked at once, the one whose latest failure is oldest forgotten first: 1.6 MB of heap when
 * full (measured with IPv6 keys). Someone with more addresses than this can make it forget a client
 * before its window ends; the bound is on memory, and a guesser with that many addresses is not slowed
 * much by any per-address limit.
 */
export const MAX_CLIENTS = 10_000;

export class TokenThrottle {
  private readonly clients = new Lru<{ since: number; failures: number }>(MAX_CLIENTS);

  /** Milliseconds before the token of a request from `address` is looked at again; 0: now. */
  waitMs(address: string, now: number): number {
    const client = this.clients.get(clientOf(address));
    if (client === undefined || client.failures < FAILURES_ALLOWED) return 0;
    return Math.max(0, client.since + WINDOW_MS - now);
  }

  /** Counts a request from `address` refused for its token. */
  failed(address: string, now: number): void {
    const key = clientOf(address);
    const client = this.clients.get(key);
    const fresh = client === undefined || now - client.since >= WINDOW_MS;
    this.clients.set(key, fresh ? { since: now, failures: 1 } : { since: client.since, failures: client.failures + 1 });
  }
}

/** The client an address stands for: an IPv4 address as it is (also written IPv4-mapped), an IPv6 one its /64. */
export function clientOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!address.includes(':')) return address;
  const [head, tail] = address.split('%')[0].toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
