/**
 * Retry timing shared by the webhook outbox and the revocation brokers: exponential backoff with full
 * jitter, and the receiver's own `Retry-After` when it sends one.
 *
 * Full jitter (a uniformly random wait between 0 and the exponential cap) rather than a fixed schedule:
 * after an outage every daemon and every queued delivery would otherwise retry in lock-step and knock the
 * receiver over again the moment it comes back.
 */

/** The `delivery` section of the config, in milliseconds. */
export interface RetryPolicy {
  retryInitial: number;
  retryMax: number;
}

/**
 * The longest `Retry-After` honoured. A receiver asking for more (or a garbled header parsed into years)
 * must not park deliveries forever: past this we ask again.
 */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * The wait before the next attempt after `failures` consecutive failures (1 for the first failure):
 * uniformly random in [0, min(retryMax, retryInitial * 2^(failures-1))].
 */
export function backoff(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  // 2^n overflows to Infinity long before failures reaches a count a real outage produces; min() copes.
  const cap = Math.min(policy.retryMax, policy.retryInitial * 2 ** Math.max(0, failures - 1));
  return Math.floor(random() * cap);
}

/**
 * The wait before the next attempt after `failures` consecutive failures, given the receiver's
 * `Retry-After` (null when it sent none or it does not count for the status). A `Retry-After` only ever
 * lengthens the backoff: `Retry-After: 0`, or a date already past (proxies with a skewed clock send it),
 * would otherwise make a receiver that is down due again at once and retried in a tight loop. It is capped
 * at MAX_RETRY_AFTER_MS, so a receiver cannot park its deliveries for longer than that per attempt.
 */
export function retryDelay(failures: number, policy: RetryPolicy, retryAfterMs: number | null, random: () => number = Math.random): number {
  return Math.max(backoff(failures, policy, random), Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds
 * from `now`, clamped to [0, MAX_RETRY_AFTER_MS], or null when absent or unreadable. Callers wait with
 * `retryDelay`, which never lets it shorten the backoff.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // Only the date forms RFC 9110 allows start with a letter (IMF-fixdate, RFC 850, asctime); a bare
  // number with a fraction or sign is not a valid header and is ignored rather than guessed at.
  if (!/^[A-Za-z]/.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** Statuses whose `Retry-After` is honoured (RFC 9110: 503 and 429, the two that define it for retries). */
export function honoursRetryAfter(status: number): boolean {
  return status === 429 || status === 503;
}
