/**
 * Alert webhooks (CONTRACT §6): a durable outbox in SQLite drained by a DeliveryLoop, signed per Standard
 * Webhooks.
 *
 * Ordering: `enqueue` runs inside the transaction that stores the alert (AlertManager raise hook), so an
 * alert is never committed without its deliveries, and a delivery never exists for an alert that was
 * rolled back. Sending starts only after the commit (the loop is kicked from the alert event).
 *
 * Retry policy, chosen for a security team: an alert must not be lost because a receiver is misconfigured
 * for a while (a 401 after a secret rotation, a 404 during a redeploy), so every answer other than a 2xx
 * or a 410 keeps the delivery and retries it with backoff, forever — "kept until a 2xx". The cost is
 * bounded: a failing endpoint gets one request per backoff interval (at most `delivery.retryMax` apart,
 * or as long as its `Retry-After` asks, up to a day),
 * and the refusal is logged loudly and counted, so the operator sees it, as is an endpoint that has been
 * failing for an hour (endpoint-health.ts). Only 410 Gone, the receiver's explicit "stop", disables the
 * endpoint: durably, until its entry in the config changes.
 *
 * Endpoints are known by their index in `webhooks` (the metrics' `endpoint` label, the logs' `webhooks[0]`):
 * the config gives them no name, and their url may hold a token.
 */
import crypto from 'node:crypto';
import { selects, type Alert } from '../alerts/alert.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/database.js';
import { DeliveryLoop, type Lane, type LaneVerdict } from './delivery-loop.js';
import { EndpointHealth } from './endpoint-health.js';
import { postOnce } from './http.js';
import { OutboxStore, type OutboxRow } from './outbox-store.js';
import { storedUrl } from './redact-url.js';
import { rehomeOrphans } from './rehome.js';
import { honoursRetryAfter, retryDelay } from './retry.js';
import { secretKey, signedHeaders } from './signing.js';

type EndpointConfig = Config['webhooks'][number];

interface Endpoint {
  index: number;
  config: EndpointConfig;
  key: Buffer;
  fingerprint: string;
  /**
   * The endpoint's identity in the outbox and the disabled marks: its url without user-info (storedUrl),
   * so no password is written to SQLite.
   */
  address: string;
  /** For logs: `webhooks[0] (https://siem.example)` — never the path or query, which may hold a token. */
  label: string;
  disabled: boolean;
  health: EndpointHealth;
}

/** An endpoint as `GET /v1/webhooks` shows it: what an operator needs to see that it is stuck. */
export interface WebhookStatus {
  /** Its index in `webhooks`: what `POST /v1/webhooks/{endpoint}/resume` takes. */
  endpoint: number;
  label: string;
  disabled: boolean;
  /** Deliveries waiting for it. */
  pending: number;
  consecutiveFailures: number;
  failingSince: string | null;
  /** When its next attempt may start, if that is later than now: its pause while failing, or the backoff of its pending deliveries. */
  pausedUntil: string | null;
  lastError: { at: string; error: string } | null;
}

/** How often a failing endpoint is looked at between its attempts (EndpointHealth.check): its warning is at most this late. */
const HEALTH_CHECK_MS = 60_000;

export interface WebhookOutboxDeps {
  db: Db;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
}

/** The Standard Webhooks payload of a new alert. */
function alertPayload(alert: Alert): string {
  return JSON.stringify({ type: 'alert.created', timestamp: alert.detectedAt, data: alert });
}

export class WebhookOutbox {
  private readonly store: OutboxStore;
  private readonly endpoints: Endpoint[];
  private readonly loop: DeliveryLoop<OutboxRow>;
  private readonly now: () => number;
  private readonly healthTimer: NodeJS.Timeout;
  private pending: number;
  /** Deliveries enqueued in the alert transaction under way (see `enqueue`). */
  private uncommitted = 0;

  constructor(private readonly deps: WebhookOutboxDeps) {
    const { config, metrics } = deps;
    this.now = deps.now ?? Date.now;
    this.store = new OutboxStore(deps.db);
    const kept = this.store.health();
    this.endpoints = config.webhooks.map((c, index) => {
      const address = storedUrl(c.url);
      const label = `webhooks[${index}] (${new URL(c.url).origin})`;
      const pendingHere = () => this.store.pendingByEndpoint().get(address)?.n ?? 0;
      return {
        index,
        config: c,
        key: secretKey(c.secret),
        fingerprint: crypto.createHash('sha256').update(JSON.stringify([c.url, c.secret, c.minSeverity, c.detectors])).digest('hex'),
        address,
        label,
        disabled: false,
        health: new EndpointHealth({ index, label }, deps.logger, pendingHere, (h) => this.store.saveHealth(address, h), kept.get(address)),
      };
    });
    // An endpoint no longer configured (or whose url changed) has no health to keep.
    for (const url of kept.keys()) if (!this.endpoints.some((e) => e.address === url)) this.store.forgetHealth(url);
    for (const e of this.endpoints) {
      for (const outcome of ['delivered', 'retry', 'disabled']) metrics.webhookDeliveries.inc({ endpoint: String(e.index), outcome }, 0);
    }
    this.loop = new DeliveryLoop<OutboxRow>({
      policy: config.delivery,
      concurrency: config.delivery.concurrency,
      now: this.now,
      onError: (err, lane) => deps.logger.error({ err, endpoint: lane }, 'webhook delivery failed unexpectedly'),
    });
    this.restore();
    this.pending = this.store.count();
    metrics.webhookPending.set(this.pending);
    metrics.watchWebhookFailing(() => this.endpoints.map((e) => ({ endpoint: String(e.index), seconds: e.health.failingSeconds(this.now()) })));
    this.healthTimer = setInterval(() => {
      for (const e of this.endpoints) e.health.check(this.now());
    }, HEALTH_CHECK_MS);
    this.healthTimer.unref();
  }

  /**
   * Restores disabled marks and pending deliveries from SQLite, starts a lane per live endpoint, and
   * finds the deliveries of endpoints no longer configured a home (rehome.ts).
   */
  private restore(): void {
    const { logger } = this.deps;
    const marks = new Map(this.store.disabled().map((d) => [d.endpoint, d]));
    for (const e of this.endpoints) {
      const mark = marks.get(e.address);
      if (mark && mark.fingerprint === e.fingerprint) {
        e.disabled = true;
        e.health.disabled(mark.at, mark.reason);
        logger.error(
          { endpoint: e.label, since: new Date(mark.at).toISOString(), reason: mark.reason },
          `webhook endpoint ${e.label} stays disabled: it answered 410 Gone; edit its entry in the config (or remove it) to re-enable it`,
        );
      } else {
        if (mark) {
          this.store.enable(e.address);
          logger.warn({ endpoint: e.label }, `webhook endpoint ${e.label} re-enabled: its configuration changed since it answered 410 Gone`);
        }
        this.loop.addLane(this.lane(e));
      }
    }
    const homes = this.endpoints.map((e) => ({ url: e.address, disabled: e.disabled, wants: (a: Pick<Alert, 'severity' | 'detector'>) => selects(e.config, a) }));
    // One transaction: a backlog of thousands is not thousands of commits at start.
    this.deps.db.transaction(() => rehomeOrphans(this.store, homes, logger, this.now()))();
  }

  /**
   * Adds the alert's deliveries to the outbox. Call inside the transaction that stores the alert; a throw
   * rolls the alert back with them.
   */
  enqueue(alert: Alert): void {
    const body = alertPayload(alert);
    const now = this.now();
    for (const e of this.endpoints) {
      if (e.disabled || !selects(e.config, alert)) continue;
      // webhook-id: the alert id, stable across retries and restarts, so receivers can dedupe.
      if (this.store.insert(e.address, alert.id, body, now)) this.uncommitted++;
    }
  }

  /**
   * A transaction storing new alerts starts. Deliveries are counted once it commits (`kick`): those of
   * a transaction that rolled back never existed.
   */
  begin(): void {
    this.uncommitted = 0;
  }

  /** Starts sending what is due now (call after the alert's transaction commits). */
  kick(): void {
    this.pending += this.uncommitted;
    this.uncommitted = 0;
    this.deps.metrics.webhookPending.set(this.pending);
    this.loop.kick();
  }

  /** Deliveries waiting in the outbox (all endpoints). */
  get pendingCount(): number {
    return this.pending;
  }

  private lane(e: Endpoint): Lane<OutboxRow> {
    return {
      // The label, not the url: lane names reach logs, and a url's path or query may hold a token.
      name: e.label,
      key: (row) => row.id,
      due: (limit, now, busy) => this.store.due(e.address, now, limit + busy.size).filter((r) => !busy.has(r.id)),
      attempt: (row, signal) => this.attempt(e, row, signal),
    };
  }

  private async attempt(e: Endpoint, row: OutboxRow, signal: AbortSignal): Promise<LaneVerdict> {
    const { metrics, logger, config } = this.deps;
    const endpoint = String(e.index);
    const headers = signedHeaders(e.key, row.msg_id, row.body, this.now());
    const r = await postOnce({ url: e.config.url, headers, body: row.body }, config.delivery.timeout, signal, this.now);
    if (r.status !== null && r.status >= 200 && r.status < 300) {
      this.store.delivered(row, this.now());
      e.health.delivered(this.now());
      this.pending--;
      metrics.webhookPending.set(this.pending);
      metrics.webhookDeliveries.inc({ endpoint, outcome: 'delivered' });
      return { kind: 'healthy' };
    }
    if (r.status === 410) {
      this.store.failed(row.id, this.now(), 410, r.error);
      if (!e.disabled) {
        e.disabled = true;
        e.health.disabled(this.now(), 'HTTP 410 Gone');
        this.store.disable(e.address, e.fingerprint, this.now(), 'HTTP 410 Gone');
        metrics.webhookDeliveries.inc({ endpoint, outcome: 'disabled' });
        logger.error(
          { endpoint: e.label, webhookId: row.msg_id },
          `webhook endpoint ${e.label} answered 410 Gone and is DISABLED: alerts raised from now on are neither sent nor kept for it; those it has not received yet are kept, and sent once its entry in the config is edited (which re-enables it)`,
        );
      }
      return { kind: 'gone' };
    }
    // Shutdown aborted the request: not the receiver's fault, so no attempt is counted and no backoff set.
    if (signal.aborted) return { kind: 'failing', retryAfterMs: null };
    const retryAfterMs = r.status !== null && honoursRetryAfter(r.status) ? r.retryAfterMs : null;
    const wait = retryDelay(row.attempts + 1, config.delivery, retryAfterMs);
    this.store.failed(row.id, this.now() + wait, r.status, r.error);
    metrics.webhookDeliveries.inc({ endpoint, outcome: 'retry' });
    e.health.failed(this.now(), r.error ?? `HTTP ${r.status}`);
    const refused = r.status !== null && r.status >= 300 && r.status < 500 && r.status !== 429 && r.status !== 408;
    const log = { endpoint: e.label, webhookId: row.msg_id, status: r.status, error: r.error, attempts: row.attempts + 1, retryInMs: wait };
    // A refusal (bad secret, wrong path) needs the operator; an outage fixes itself. Warn once per delivery
    // for the first, only at debug for the second until it has gone on for a while.
    if (refused && row.attempts === 0) logger.warn(log, `webhook endpoint ${e.label} refused a delivery (${r.error}); it is kept and retried — check the endpoint's url and secret`);
    else if (row.attempts + 1 === 5) logger.warn(log, `webhook endpoint ${e.label} is still failing after 5 attempts; deliveries are kept and retried`);
    else logger.debug(log, 'webhook delivery failed; will retry');
    return { kind: 'failing', retryAfterMs };
  }

  /** Every endpoint's state, in config order (`GET /v1/webhooks`). */
  status(): WebhookStatus[] {
    const pending = this.store.pendingByEndpoint();
    return this.endpoints.map((e) => this.statusOf(e, pending.get(e.address)));
  }

  /**
   * An operator's resume (`POST /v1/webhooks/{endpoint}/resume`, `vigil webhook resume`): its receiver is
   * back, so its pending deliveries are due now and its pause ends, rather than at its next probe, up to
   * `delivery.retryMax` away. It still probes one delivery at a time until one gets through. Returns its
   * new state; `refused` says why nothing changed; undefined: no such endpoint.
   */
  resume(index: number, by = 'an operator'): { webhook: WebhookStatus } | { refused: string } | undefined {
    const e = this.endpoints[index];
    if (e === undefined) return undefined;
    if (e.disabled) {
      return { refused: `${e.label} answered 410 Gone and is disabled: edit its entry in the config (or remove it) and restart Vigil to re-enable it; the deliveries it has not received are sent then` };
    }
    this.store.dueNow(e.address, this.now());
    this.loop.resume(e.label);
    const webhook = this.statusOf(e, this.store.pendingByEndpoint().get(e.address));
    this.deps.logger.info({ endpoint: e.label, by, pending: webhook.pending, failures: webhook.consecutiveFailures }, `webhook endpoint ${e.label} resumed by the operator: its pending deliveries are sent now`);
    return { webhook };
  }

  private statusOf(e: Endpoint, pending: { n: number; next: number } | undefined): WebhookStatus {
    const now = this.now();
    const resumesAt = e.disabled || pending === undefined ? 0 : Math.max(this.loop.pausedUntil(e.label), pending.next);
    const { health } = e;
    return {
      endpoint: e.index,
      label: e.label,
      disabled: e.disabled,
      pending: pending?.n ?? 0,
      consecutiveFailures: health.failures,
      failingSince: health.failingSince === null ? null : new Date(health.failingSince).toISOString(),
      pausedUntil: resumesAt > now ? new Date(resumesAt).toISOString() : null,
      lastError: health.lastError && { at: new Date(health.lastError.at).toISOString(), error: health.lastError.error },
    };
  }

  /** Stops sending (in-flight attempts get a short grace). Pending deliveries stay in SQLite. Idempotent. */
  close(): Promise<void> {
    clearInterval(this.healthTimer);
    return this.loop.close();
  }
}
