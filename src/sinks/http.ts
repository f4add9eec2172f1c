/**
 * One outbound HTTP POST with a deadline, reduced to what the retry logic needs: the status, the
 * receiver's `Retry-After`, or why no status came back. Shared by webhooks and every broker.
 */
import { MAX_TIMER_MS } from '../config/cross-checks.js';
import { redactUrls } from './redact-url.js';
import { parseRetryAfter } from './retry.js';

/** What one attempt produced. `status` is null when no HTTP answer arrived (network error, timeout, abort). */
export interface AttemptResult {
  status: number | null;
  /** Milliseconds the receiver asked us to wait (`Retry-After`), null when it did not say. */
  retryAfterMs: number | null;
  /**
   * A short description for logs and the audit trail, never including the request or response body, nor
   * any URL beyond its origin (user-info, path and query may hold credentials).
   */
  error: string | null;
}

export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The deadline actually set for `timeoutMs`: clamped to what a timer holds (past MAX_TIMER_MS,
 * setTimeout() fires after 1 ms, so every attempt would time out at once). Zero, negative or not a number
 * means no practical deadline rather than an attempt that fails before it starts (the loader refuses
 * such values; this keeps delivery working if one gets through).
 */
function attemptDeadline(timeoutMs: number): number {
  if (Number.isNaN(timeoutMs) || timeoutMs <= 0) return MAX_TIMER_MS;
  return Math.min(Math.ceil(timeoutMs), MAX_TIMER_MS);
}

/**
 * POSTs `req`, giving up after `timeoutMs` (see attemptDeadline) or when `signal` aborts (shutdown).
 * Redirects are not followed: a signed delivery must reach the configured URL, not wherever a 3xx points,
 * so a 3xx is just a non-2xx. The response body is discarded unread: receivers' answers are not needed
 * and may be large. A failure's description is redacted (redact-url.ts): undici quotes the whole URL,
 * credentials included, when it refuses one.
 */
export async function postOnce(req: OutboundRequest, timeoutMs: number, signal: AbortSignal, now: () => number = Date.now): Promise<AttemptResult> {
  // A timer and a controller of our own, both held until the attempt settles. Not AbortSignal.timeout()
  // inside AbortSignal.any(): on Node 20 the composite holds it weakly, a garbage collection takes it, it
  // never fires, and a receiver that never answers holds its lane until undici gives up (300 s).
  const attempt = new AbortController();
  const timer = setTimeout(() => attempt.abort(new DOMException('the delivery timeout passed', 'TimeoutError')), attemptDeadline(timeoutMs));
  const onShutdown = () => attempt.abort(signal.reason);
  if (signal.aborted) onShutdown();
  else signal.addEventListener('abort', onShutdown, { once: true });
  try {
    const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, redirect: 'manual', signal: attempt.signal });
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), now()), error: res.ok ? null : `HTTP ${res.status}` };
  } catch (err) {
    return { status: null, retryAfterMs: null, error: redactUrls(describeFailure(err, signal), req.url) };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onShutdown);
  }
}

function describeFailure(err: unknown, shutdown: AbortSignal): string {
  if (shutdown.aborted) return 'aborted: shutting down';
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  // undici wraps the socket error as `cause`; its code (ECONNREFUSED, ECONNRESET, …) is what an operator greps for.
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
