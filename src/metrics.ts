/**
 * Prometheus metrics. One registry per daemon (not prom-client's global one) so tests can run several
 * daemons in a process. Every labelled counter is pre-set to zero for each value of its fixed reason list,
 * so a dashboard sees `rejected{reason="no_identity"} 0` before the first rejection, not a missing series.
 * Grouped by area; `createMetrics` joins the groups into the one object the daemon passes around.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import client from 'prom-client';
import { IGNORE_REASONS } from './actions/facts.js';
import { REJECT_REASONS } from './actions/identity.js';
import { ACTION_KINDS } from './actions/types.js';
import { packageRoot } from './config/load.js';

export const RECEIVERS = ['grpc', 'http', 'replay'] as const;
export type Receiver = (typeof RECEIVERS)[number];

/** Why a whole request was refused (no span of it was looked at or kept). */
export const REQUEST_REJECT_REASONS = ['decode', 'too_large', 'content_type', 'content_encoding', 'overloaded', 'shutting_down', 'unauthenticated', 'forbidden', 'misdirected', 'store_unavailable'] as const;
export type RequestRejectReason = (typeof REQUEST_REJECT_REASONS)[number];

type Registry = client.Registry;

/**
 * Where a metric read when scraped gets its value: the component that knows it (the webhook outbox,
 * the revocation engine, the detection engine, the ingest worker) starts after the metrics, and wires
 * itself in with `from`. Until then the metric reads `fallback`.
 */
class ScrapeSource<T> {
  private read: () => T;
  constructor(fallback: T) {
    this.read = () => fallback;
  }
  readonly from = (read: () => T): void => {
    this.read = read;
  };
  get(): T {
    return this.read();
  }
}

/**
 * A counter following a running total read when scraped: it adds the total's growth. Never a negative
 * step (prom-client refuses one and /metrics would fail): a total that wobbles down by rounding, or a
 * source that stopped (an exited worker reads zero), adds nothing. `follow` sets where the total is
 * read, counted from zero again (a new source starts its own total).
 */
function totalCounter(registry: Registry, name: string, help: string) {
  const total = new ScrapeSource(0);
  let seen = 0;
  const counter = new client.Counter({
    name, help, registers: [registry],
    collect() {
      const now = total.get();
      if (!Number.isFinite(now) || now <= seen) return;
      this.inc(now - seen);
      seen = now;
    },
  });
  const follow = (read: () => number) => {
    total.from(read);
    seen = 0;
  };
  return { counter, follow };
}

/** Spans and requests through the receivers, the ingest queue and the trace buffer. */
function ingestMetrics(registry: Registry, receivers: readonly Receiver[]) {
  const spansReceived = new client.Counter({ name: 'vigil_spans_received_total', help: 'Spans decoded from export requests', labelNames: ['receiver'], registers: [registry] });
  const spansAccepted = new client.Counter({ name: 'vigil_spans_accepted_total', help: 'Spans accepted into the ingest queue', labelNames: ['receiver'], registers: [registry] });
  const spansRejected = new client.Counter({ name: 'vigil_spans_rejected_total', help: 'Spans rejected (OTLP partial success), by reason', labelNames: ['receiver', 'reason'], registers: [registry] });
  const requestsRejected = new client.Counter({ name: 'vigil_requests_rejected_total', help: 'Export requests refused whole, by reason', labelNames: ['receiver', 'reason'], registers: [registry] });
  const spansIgnored = new client.Counter({ name: 'vigil_spans_ignored_total', help: 'Accepted spans that are not actions, by reason', labelNames: ['reason'], registers: [registry] });
  const actions = new client.Counter({ name: 'vigil_actions_total', help: 'Actions derived from spans, by kind', labelNames: ['kind'], registers: [registry] });
  const queueDepth = new client.Gauge({ name: 'vigil_ingest_queue_spans', help: 'Spans waiting in the ingest queue', registers: [registry] });
  const queueCapacity = new client.Gauge({ name: 'vigil_ingest_queue_capacity_spans', help: 'Capacity of the ingest queue (ingest.queueSpans)', registers: [registry] });
  const queueBytes = new client.Gauge({ name: 'vigil_ingest_queue_bytes', help: 'Bytes of the exports waiting in the ingest queue (bounded by ingest.queueBytes)', registers: [registry] });
  const traceBufferSpans = new client.Gauge({ name: 'vigil_trace_buffer_spans', help: 'Spans held in the per-trace buffer awaiting their trace', registers: [registry] });
  const requestDuration = new client.Histogram({
    name: 'vigil_request_duration_seconds',
    help: 'Export request latency, from first byte to response, by receiver',
    labelNames: ['receiver'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  for (const receiver of receivers) {
    spansReceived.inc({ receiver }, 0);
    spansAccepted.inc({ receiver }, 0);
    for (const reason of REJECT_REASONS) spansRejected.inc({ receiver, reason }, 0);
    for (const reason of REQUEST_REJECT_REASONS) requestsRejected.inc({ receiver, reason }, 0);
  }
  for (const reason of IGNORE_REASONS) spansIgnored.inc({ reason }, 0);
  for (const kind of ACTION_KINDS) actions.inc({ kind }, 0);

  return { spansReceived, spansAccepted, spansRejected, requestsRejected, spansIgnored, actions, queueDepth, queueCapacity, queueBytes, traceBufferSpans, requestDuration };
}

/** Alerts, the store's commits and retention, and the baselines' peer groups. */
function detectionMetrics(registry: Registry) {
  const alerts = new client.Counter({ name: 'vigil_alerts_total', help: 'Alerts raised, by detector and severity', labelNames: ['detector', 'severity'], registers: [registry] });
  const findingsMuted = new client.Counter({
    name: 'vigil_findings_muted_total',
    help: "Findings an operator's mute kept from being raised (each use), by detector",
    labelNames: ['detector'],
    registers: [registry],
  });
  const identities = new client.Gauge({ name: 'vigil_identities', help: 'Identities known to the store', registers: [registry] });
  const commitDuration = new client.Histogram({
    name: 'vigil_store_commit_seconds',
    help: 'Duration of a group commit to SQLite',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  });
  const commitFailures = new client.Counter({
    name: 'vigil_store_commit_failures_total',
    help: 'Group commits the store refused (disk full, read-only, I/O error); their exports were refused as retryable',
    registers: [registry],
  });
  const identitiesForgotten = new client.Counter({
    name: 'vigil_identities_forgotten_total',
    help: 'Identities forgotten after baselines.forgetIdleAfter without an action (record and baseline deleted)',
    registers: [registry],
  });
  const alertsDeleted = new client.Counter({ name: 'vigil_alerts_deleted_total', help: 'Alerts deleted because their event was older than alerts.retention', registers: [registry] });
  const peerMembersEvicted = new client.Counter({
    name: 'vigil_peer_members_evicted_total',
    help: 'Peer-group members that left early, least recently active first, to stay within baselines.maxPeerMembers and baselines.maxPeerGroups',
    registers: [registry],
  });
  const peers = new ScrapeSource({ members: 0, groups: 0 });
  const peerGauge = (name: string, help: string, key: 'members' | 'groups') =>
    new client.Gauge({
      name, help, registers: [registry],
      collect() {
        this.set(peers.get()[key]);
      },
    });
  peerGauge('vigil_peer_group_members', 'Members across all peer groups (bounded by baselines.maxPeerMembers)', 'members');
  peerGauge('vigil_peer_groups', 'Peer groups held in memory', 'groups');
  // CONTRACT §3: an action more than time.lateness behind its identity's newest is accepted, judged and
  // learned, and counted here (read from the engine's count when scraped: nothing per action).
  const late = totalCounter(registry, 'vigil_actions_late_total', "Actions more than time.lateness behind their identity's newest event time (accepted and learned, never rejected)");

  return { alerts, findingsMuted, identities, commitDuration, commitFailures, identitiesForgotten, alertsDeleted, peerMembersEvicted, countPeers: peers.from, actionsLate: late.counter, countLate: late.follow };
}

type PendingRevocations = Map<string, { n: number; oldest: number | undefined; failed: number }>;

/** Webhook deliveries and revocations, with what is still waiting to get through. */
function deliveryMetrics(registry: Registry) {
  const webhookDeliveries = new client.Counter({ name: 'vigil_webhook_deliveries_total', help: 'Webhook delivery attempts, by endpoint index and outcome (delivered, retry, disabled)', labelNames: ['endpoint', 'outcome'], registers: [registry] });
  const webhookPending = new client.Gauge({ name: 'vigil_webhook_outbox_pending', help: 'Webhook deliveries waiting in the durable outbox', registers: [registry] });
  // Read from the webhook outbox when scraped: an endpoint refusing (404, 401) or unreachable for days
  // otherwise shows only as a growing outbox.
  const failing = new ScrapeSource<Array<{ endpoint: string; seconds: number }>>([]);
  new client.Gauge({
    name: 'vigil_webhook_failing_seconds', help: 'How long each webhook endpoint (by index) has failed without a delivery getting through (0 when healthy or disabled)', labelNames: ['endpoint'], registers: [registry],
    collect() {
      for (const { endpoint, seconds } of failing.get()) this.set({ endpoint }, seconds);
    },
  });

  const revocations = new client.Counter({ name: 'vigil_revocations_total', help: 'Revocation state changes, by broker and status (a failed attempt that leaves one pending counts as pending again)', labelNames: ['broker', 'status'], registers: [registry] });
  // Read from the store when scraped: credentials a rule said to revoke that are still valid, per broker.
  const pending = new ScrapeSource<{ brokers: string[]; read: () => PendingRevocations; now: () => number } | null>(null);
  let lastPending: PendingRevocations = new Map();
  const pendingByBroker = () => {
    try {
      lastPending = pending.get()?.read() ?? lastPending;
    } catch {
      // The store refuses reads (an outage, a shutdown): the last figures stand, and /metrics still answers.
    }
    return lastPending;
  };
  new client.Gauge({
    name: 'vigil_revocations_pending', help: 'Revocations not yet confirmed by their broker (the credential is still valid), by broker', labelNames: ['broker'], registers: [registry],
    collect() {
      const byBroker = pendingByBroker();
      for (const broker of pending.get()?.brokers ?? []) this.set({ broker }, byBroker.get(broker)?.n ?? 0);
    },
  });
  // Failed ones stay failed (a broker's refusal is final) until retried or a new alert sends them again,
  // and the counter above restarts with the process: this is what to alert on (review41 M2).
  new client.Gauge({
    name: 'vigil_revocations_failed', help: 'Revocations that failed (the credential is still valid until one is retried: vigil revocation retry), by broker', labelNames: ['broker'], registers: [registry],
    collect() {
      const byBroker = pendingByBroker();
      for (const broker of pending.get()?.brokers ?? []) this.set({ broker }, byBroker.get(broker)?.failed ?? 0);
    },
  });
  new client.Gauge({
    name: 'vigil_revocation_oldest_pending_seconds', help: 'Age of the oldest revocation still pending, by broker (0 when none)', labelNames: ['broker'], registers: [registry],
    collect() {
      const byBroker = pendingByBroker();
      const now = pending.get()?.now() ?? 0;
      for (const broker of pending.get()?.brokers ?? []) {
        const oldest = byBroker.get(broker)?.oldest;
        this.set({ broker }, oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000));
      }
    },
  });

  return {
    webhookDeliveries,
    webhookPending,
    watchWebhookFailing: failing.from,
    revocations,
    watchPendingRevocations: (brokers: string[], read: () => PendingRevocations, now: () => number) => pending.from(() => ({ brokers, read, now })),
  };
}

/** The API's refusals and the alert stream's clients. */
function apiMetrics(registry: Registry) {
  const apiUnauthorized = new client.Counter({ name: 'vigil_api_requests_unauthorized_total', help: 'API requests and websocket upgrades refused for a missing or wrong token', labelNames: ['surface'], registers: [registry] });
  const apiThrottled = new client.Counter({
    name: 'vigil_api_requests_throttled_total',
    help: 'API requests and websocket upgrades answered 429, their token not looked at: their address had failed the token too often',
    labelNames: ['surface'],
    registers: [registry],
  });
  for (const surface of ['rest', 'websocket']) {
    apiUnauthorized.inc({ surface }, 0);
    apiThrottled.inc({ surface }, 0);
  }
  const websocketClients = new client.Gauge({ name: 'vigil_websocket_clients', help: 'Connected alert-stream websocket clients', registers: [registry] });
  const websocketDropped = new client.Counter({ name: 'vigil_websocket_slow_closes_total', help: 'Websocket clients closed because they fell too far behind', registers: [registry] });
  return { apiUnauthorized, apiThrottled, websocketClients, websocketDropped };
}

/**
 * Time each thread spent running rather than waiting (event-loop utilisation): the ingest worker at
 * 1 s/s is the ceiling of decoding and building actions, the main thread at 1 s/s that of judging.
 */
function threadMetrics(registry: Registry) {
  const busySeconds = (elu: () => EventLoopUtilization) => () => elu().active / 1000;
  totalCounter(registry, 'vigil_main_thread_busy_seconds_total', 'Time the main thread (judging, learning, storing, API) was busy').follow(busySeconds(() => performance.eventLoopUtilization()));
  const ingestBusy = totalCounter(registry, 'vigil_ingest_worker_busy_seconds_total', 'Time the ingest worker thread (decoding, building actions) was busy');
  // The worker's heap is apart from the main thread's (nodejs_heap_size_*): under churn it is most of the RSS.
  const ingestHeapUsed = new client.Gauge({ name: 'vigil_ingest_worker_heap_used_bytes', help: "V8 heap the ingest worker's objects use (live and not yet collected)", registers: [registry] });
  const ingestHeapTotal = new client.Gauge({ name: 'vigil_ingest_worker_heap_total_bytes', help: 'V8 heap the ingest worker holds from the system (used or free)', registers: [registry] });
  return {
    /** Follows the ingest worker's event-loop utilisation (again from zero after a restart). */
    watchIngestWorker: (elu: () => EventLoopUtilization) => ingestBusy.follow(busySeconds(elu)),
    ingestHeapUsed,
    ingestHeapTotal,
  };
}

/** @param receivers the receivers whose series start at zero: serve's listeners, or replay alone. */
/** Which Vigil runs, and how large its store has grown (a disk filling is seen before commits fail: review41 L5). */
function daemonMetrics(registry: Registry) {
  const version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  new client.Gauge({ name: 'vigil_build_info', help: 'Always 1, labelled with the running Vigil version and Node version', labelNames: ['version', 'node'], registers: [registry] })
    .set({ version, node: process.version }, 1);
  const store = new ScrapeSource<string | null>(null);
  new client.Gauge({
    name: 'vigil_store_bytes', help: 'Size of the SQLite store (storage.path), by file: db and its write-ahead log, wal', labelNames: ['file'], registers: [registry],
    collect() {
      const path = store.get();
      if (path === null) return;
      const size = (file: string) => {
        try {
          return statSync(file).size;
        } catch {
          return 0; // no write-ahead log right after a checkpoint, or the file moved away
        }
      };
      this.set({ file: 'db' }, size(path));
      this.set({ file: 'wal' }, size(`${path}-wal`));
    },
  });
  return { watchStore: store.from };
}

export function createMetrics(receivers: readonly Receiver[] = ['grpc', 'http']) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  return {
    registry,
    ...ingestMetrics(registry, receivers),
    ...detectionMetrics(registry),
    ...deliveryMetrics(registry),
    ...apiMetrics(registry),
    ...threadMetrics(registry),
    ...daemonMetrics(registry),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
