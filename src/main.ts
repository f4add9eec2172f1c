/**
 * The daemon: ordered start-up steps, each registering its teardown, torn down in reverse (Falco's
 * app.cpp habit). Receivers close before the pipeline drains, and the pipeline commits before the
 * database closes, so a clean shutdown acknowledges nothing it has not stored.
 */
import { AlertFeed } from './api/alert-feed.js';
import { registerAlertRoutes } from './api/alerts.js';
import { registerIdentityRoutes } from './api/identities.js';
import { registerMuteRoutes } from './api/mutes.js';
import { Mutes } from './alerts/mutes.js';
import { ApiServer } from './api/server.js';
import { registerWebhookRoutes } from './api/webhooks.js';
import { AlertStream, type StreamOptions } from './api/stream.js';
import { resolveApiToken } from './api/token.js';
import { joinEndpoint, splitEndpoint } from './config/endpoint.js';
import { configWarnings } from './config/warnings.js';
import type { Config } from './config/schema.js';
import { UserError } from './errors.js';
import { reportRevokedCredentialUse } from './detect/telemetry-integrity.js';
import { buildDetection } from './detection.js';
import type { AlertManager } from './alerts/manager.js';
import type { DetectionEngine } from './detect/engine.js';
import type { Pipeline } from './pipeline.js';
import type { IdentityStore } from './store/identities.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { RevocationEngine } from './revocation/engine.js';
import { MAX_REVOKED, RevokedCredentials } from './revocation/revoked.js';
import { WebhookOutbox } from './sinks/webhooks.js';
import { GrpcReceiver } from './receiver/grpc.js';
import { HttpReceiver } from './receiver/http.js';
import { openDatabase, startFailure, storeExposure, type Db } from './store/database.js';
import { migrateInWorker, pendingUpgrade } from './store/upgrade.js';
import type { TlsConfig } from './tls.js';

export interface Daemon {
  /** Bound ports (useful when the config asks for port 0). 0 when a receiver is disabled. */
  ports: { grpc: number; http: number; api: number };
  token: string;
  config: Config;
  metrics: Metrics;
  db: Db;
  identities: IdentityStore;
  pipeline: Pipeline;
  alerts: AlertManager;
  engine: DetectionEngine;
  /** Revocation decisions and broker calls (CONTRACT §6); `subscribe`/`list` feed the API. */
  revocations: RevocationEngine;
  /** The durable alert webhook outbox (CONTRACT §6). */
  webhooks: WebhookOutbox;
  /** The alert websocket hub (the revocation engine is wired in with `attachRevocations`). */
  stream: AlertStream;
  logger: Logger;
  /** Drains and stops everything, in reverse start-up order. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger?: Logger;
  /** Alert websocket tuning (heartbeat period, buffer limits); tests shorten the periods. */
  stream?: Partial<StreamOptions>;
}

export async function startDaemon({ config, logger = createLogger(config.log.level), stream: streamOptions }: StartOptions): Promise<Daemon> {
  const teardown: Array<() => void | Promise<void>> = [];
  let ready = false;
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      ready = false;
      for (const step of teardown.reverse()) {
        try {
          await step();
        } catch (err) {
          logger.error({ err }, 'shutdown step failed');
        }
      }
      logger.info('vigil stopped');
      logger.flush();
    })());

  try {
    const metrics = createMetrics();
    // The API listens first, so that /healthz answers and /readyz says why not yet while the store opens
    // (a migration can take minutes); it answers its other routes from `api.serve()` on.
    let phase: 'starting' | 'migrating' = 'starting';
    const token = resolveApiToken(config.api.token, config.storage.path);
    // `pipeline` is asked only once ready, when it exists.
    const api = new ApiServer({ config, token: token.value, metrics, logger, readiness: () => (!ready ? phase : pipeline.storeWritable ? 'ready' : 'store_unavailable') });
    const closeApi = () => api.close();
    teardown.push(closeApi);
    const ports = { grpc: 0, http: 0, api: await listenAs('api.endpoint', config.api.endpoint, (e) => api.listen(e)) };

    const upgrade = pendingUpgrade(config.storage.path);
    if (upgrade !== null) {
      phase = 'migrating';
      const started = Date.now();
      logger.info({ path: config.storage.path, ...upgrade }, `migrating the store from schema ${upgrade.from} to ${upgrade.to}; a large store takes a while, and older versions cannot open it afterwards`);
      await migrateInWorker(config.storage.path, 'storage.path');
      logger.info({ ms: Date.now() - started }, 'store migrated');
      phase = 'starting';
    }
    const db = openDatabase(config.storage.path, 'storage.path');
    teardown.push(() => void db.close());
    if (config.storage.path !== ':memory:') metrics.watchStore(() => config.storage.path);
    const exposed = storeExposure(config.storage.path);
    if (exposed !== null) logger.warn({ path: config.storage.path }, exposed);
    const { pipeline, identities, alerts, engine, operator, owners } = buildDetection({ config, db, metrics, logger, mode: 'serve' });
    watchPeerMembers(engine, metrics, logger, config.baselines);
    // Alert delivery (CONTRACT §6): the revocation record and the webhook outbox rows are written inside
    // each alert's own transaction, so no alert is stored without them; sending starts after the commit.
    const revocations = new RevocationEngine({ db, config, metrics, logger, owners });
    const revoked = new RevokedCredentials(revocations.revokedCredentials(MAX_REVOKED), (action, at) => reportRevokedCredentialUse(alerts, action, at));
    revocations.subscribe((r) => revoked.noteRevocation(r));
    pipeline.addSink((actions) => revoked.note(actions));
    const webhooks = new WebhookOutbox({ db, config, metrics, logger });
    alerts.setResponder(revocations);
    const mutes = new Mutes(db, Date.now, metrics);
    alerts.setMutes(mutes);
    alerts.addRaiseHook({ begin: () => webhooks.begin(), raised: (alert) => webhooks.enqueue(alert) });
    alerts.subscribe((e) => {
      if (e.type !== 'alert') return;
      revocations.committed();
      webhooks.kick();
    });
    // Pushed before the pipeline's teardown so it runs after it: alerts raised while the pipeline drains
    // are enqueued, and the senders stop (pending rows stay in SQLite) before the database closes.
    teardown.push(async () => {
      await Promise.all([webhooks.close(), revocations.close()]);
    });
    // Every alert is logged too, in one line: the record an operator without a SOC pipeline still has.
    alerts.subscribe((e) => {
      if (e.type !== 'alert') return;
      const { seq, id, detector, severity, identity, title } = e.alert;
      logger.warn({ alert: { seq, id, detector, severity, identity } }, `alert: ${title}`);
    });
    teardown.push(() => pipeline.close());

    // Closed here in the shutdown order, before the pipeline drains and the store closes (closing twice is harmless).
    teardown.push(closeApi);
    registerIdentityRoutes(api, operator, db, logger);
    registerMuteRoutes(api, mutes, operator, logger);
    const feed = new AlertFeed(db, alerts);
    const stream = new AlertStream({ api, token: token.value, feed, metrics, logger }, streamOptions);
    // Pushed after the API's teardown so it runs first: the HTTP server's close waits for upgraded sockets.
    teardown.push(() => stream.close());
    registerAlertRoutes(api, feed, () => stream.revocations);
    registerWebhookRoutes(api, webhooks);
    stream.attachRevocations(revocations);
    api.serve();
    for (const w of configWarnings(config)) logger.warn({ key: w.key }, `${w.key} ${w.message}`);

    const receiverDeps = { config, pipeline, metrics, logger };
    if (config.receivers.otlp.grpc.enabled) {
      const grpc = new GrpcReceiver(receiverDeps);
      teardown.push(() => grpc.close());
      ports.grpc = await listenAs('receivers.otlp.grpc.endpoint', config.receivers.otlp.grpc.endpoint, (e) => grpc.listen(e));
    }
    if (config.receivers.otlp.http.enabled) {
      const http = new HttpReceiver(receiverDeps);
      teardown.push(() => http.close());
      ports.http = await listenAs('receivers.otlp.http.endpoint', config.receivers.otlp.http.endpoint, (e) => http.listen(e));
    }

    ready = true;
    logger.info(
      {
        otlpGrpc: ports.grpc ? listening(config.receivers.otlp.grpc, ports.grpc) : 'disabled',
        otlpHttp: ports.http ? listening(config.receivers.otlp.http, ports.http) : 'disabled',
        api: listening(config.api, ports.api),
        storage: config.storage.path,
        identities: identities.size,
        // Whether alerts revoke anything: a dry run records what it would have done (review41 L2).
        revocation: config.revocation.mode,
        apiTokenFile: token.file ?? undefined,
      },
      token.file ? `vigil ready; the API token is in ${token.file}` : 'vigil ready',
    );
    return { ports, token: token.value, config, metrics, db, identities, pipeline, alerts, engine, revocations, webhooks, stream, logger, close };
  } catch (err) {
    await close();
    throw startFailure(config.storage.path, 'storage.path', err);
  }
}

/** Listens where the config says, or throws a UserError naming the key and why it cannot. */
async function listenAs(key: string, endpoint: string, listen: (endpoint: string) => Promise<number>): Promise<number> {
  try {
    return await listen(endpoint);
  } catch (err) {
    // grpc-js reports the system error only inside its message.
    const message = String((err as Error).message ?? err);
    const code = (err as NodeJS.ErrnoException).code ?? /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES|ENOTFOUND)\b/.exec(message)?.[1];
    const why =
      code === 'EADDRINUSE' ? 'another process holds that port; change the port or stop that process'
      : code === 'EADDRNOTAVAIL' ? 'this host has no such address; use 127.0.0.1, 0.0.0.0 or an address of this host'
      : code === 'EACCES' ? 'this user may not listen on that port (below 1024 needs privileges)'
      : code === 'ENOTFOUND' || /name resolution failed/i.test(message) ? 'the host name does not resolve'
      : `cannot listen there (${message})`;
    throw new UserError(`${key} (${endpoint}): ${why}`);
  }
}

/** Where a listener listens, and with what TLS, for the start-up log. */
function listening(l: { endpoint: string; tls?: TlsConfig }, port: number): string {
  const tls = l.tls === undefined ? '' : l.tls.clientCa === undefined ? ' (TLS)' : ' (TLS, client certificates required)';
  return joinEndpoint(splitEndpoint(l.endpoint).host, port) + tls;
}

/** Counts members leaving early for the peer-group bounds, and says once why they are usually reached. */
function watchPeerMembers(engine: DetectionEngine, metrics: Metrics, logger: Logger, bounds: Config['baselines']): void {
  metrics.countPeers(() => ({ members: engine.baselines.members, groups: engine.baselines.groupCount }));
  let warned = false;
  engine.onMembersEvicted = (n) => {
    metrics.peerMembersEvicted.inc(n);
    if (warned) return;
    warned = true;
    logger.warn(
      { maxPeerMembers: bounds.maxPeerMembers, maxPeerGroups: bounds.maxPeerGroups },
      'peer groups reached baselines.maxPeerMembers or maxPeerGroups: the least recently active members leave early. Usually an identity per run or a service.name per pod (see identity.chain); raise the bound if the fleet is really this large',
    );
  };
}
