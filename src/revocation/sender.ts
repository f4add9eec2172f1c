/**
 * Calls the brokers for pending revocations (enforce mode only), one DeliveryLoop lane per broker, retried
 * like a webhook (CONTRACT §6): a 2xx succeeds; 429, 5xx and network errors (timeouts included) are
 * retried with backoff, honouring `Retry-After`; any other status fails the revocation permanently —
 * a broker that answers 400 or 403 will not change its mind, and hammering an identity provider with a
 * request it rejects helps nobody. Every attempt is recorded with the state it led to, in one transaction.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { DeliveryLoop, type Lane, type LaneVerdict } from '../sinks/delivery-loop.js';
import { postOnce, type AttemptResult } from '../sinks/http.js';
import { honoursRetryAfter, retryDelay } from '../sinks/retry.js';
import { toJob, type AttemptRow, type RevocationRow, type RevocationState, type RevocationStore } from './store.js';
import type { Broker } from './types.js';

export interface RevocationSenderDeps {
  config: Config;
  logger: Logger;
  now: () => number;
  store: RevocationStore;
  brokers: Map<string, Broker>;
  announce(row: RevocationRow): void;
}

/** Whether a broker's answer (or its absence) is worth another attempt. */
export function retryable(r: AttemptResult): boolean {
  return r.status === null || r.status === 429 || r.status >= 500;
}

export class RevocationSender {
  private readonly loop: DeliveryLoop<RevocationRow>;

  constructor(private readonly deps: RevocationSenderDeps) {
    const { config, logger } = deps;
    this.loop = new DeliveryLoop<RevocationRow>({
      policy: config.delivery,
      concurrency: config.delivery.concurrency,
      now: deps.now,
      onError: (err, lane) => logger.error({ err, broker: lane }, 'revocation attempt failed unexpectedly'),
    });
    for (const broker of deps.brokers.values()) this.loop.addLane(this.lane(broker));
  }

  kick(): void {
    this.loop.kick();
  }

  /** Calls `broker` again now, whatever backoff its failures set (an operator's retry). */
  resume(broker: string): void {
    this.loop.resume(broker);
  }

  private lane(broker: Broker): Lane<RevocationRow> {
    return {
      name: broker.name,
      key: (row) => row.id,
      due: (limit, now, busy) => this.deps.store.due(broker.name, now, limit + busy.size).filter((r) => !busy.has(r.id)),
      attempt: (row, signal) => this.attempt(broker, row, signal),
    };
  }

  private async attempt(broker: Broker, row: RevocationRow, signal: AbortSignal): Promise<LaneVerdict> {
    const { config, now } = this.deps;
    const started = now();
    this.deps.store.startAttempt(row.id, row.attempts + 1, started);
    let result: AttemptResult;
    try {
      result = await postOnce(broker.request(toJob(row), started), config.delivery.timeout, signal, now);
    } catch (err) {
      // Building the request failed (a key that stopped working): no call was made, nothing will change.
      result = { status: null, retryAfterMs: null, error: `could not build the request: ${(err as Error).message}` };
      return this.finish(row, result, 'failed', started);
    }
    if (result.status !== null && result.status >= 200 && result.status < 300) return this.finish(row, result, 'succeeded', started);
    if (!retryable(result)) return this.finish(row, result, 'failed', started);
    const retryAfterMs = result.status !== null && honoursRetryAfter(result.status) ? result.retryAfterMs : null;
    // A call cut short by shutdown may or may not have reached the broker: it is counted, and due again at once.
    const wait = signal.aborted ? 0 : retryDelay(row.attempts + 1, config.delivery, retryAfterMs);
    return this.finish(row, result, 'retry', started, { wait, retryAfterMs });
  }

  /** Records an attempt's outcome; a retry says when (`wait`) and what the broker asked for. */
  private finish(row: RevocationRow, r: AttemptResult, outcome: AttemptRow['outcome'], started: number, retry?: { wait: number; retryAfterMs: number | null }): LaneVerdict {
    const at = this.deps.now();
    const attempts = row.attempts + 1;
    const answer = r.status !== null ? `HTTP ${r.status}` : (r.error ?? 'no answer');
    const broker = `broker "${row.broker}"`;
    const state: RevocationState = {
      attempts,
      at,
      status: outcome === 'succeeded' ? 'succeeded' : outcome === 'failed' ? 'failed' : 'pending',
      next_at: retry ? at + retry.wait : null,
      reason:
        outcome === 'succeeded' ? `${broker} answered ${answer}: revoked`
        : outcome === 'failed' ? `${broker} refused (${answer}) after ${attempts} attempt(s): not revoked; fix the cause and retry it (vigil revocation retry ${row.id}), or revoke it by hand`
        : `attempt ${attempts} to ${broker} failed (${answer}); retrying in ${Math.ceil(retry!.wait / 1000)}s`,
    };
    const next = this.deps.store.recordAttempt(row.id, state, { revocation_id: row.id, attempt: attempts, at: started, http_status: r.status, outcome, error: r.error });
    this.deps.announce(next);
    // A refusal is about this request, not the broker's health: other revocations may go through.
    return retry ? { kind: 'failing', retryAfterMs: retry.retryAfterMs } : { kind: 'healthy' };
  }

  close(): Promise<void> {
    return this.loop.close();
  }
}
