/**
 * The daemon: ordered start-up steps, each registering its teardown, torn down in reverse (Falco's
 * app.cpp habit). Receivers close before the pipeline drains, and the pipeline commits before the
 * database closes, so a clean shutdown acknowledges nothing it has not stored.
 */
import { ActionBuilder, attributeFilterFor } from './actions/index.js';
import { AlertManager } from './alerts/manager.js';
import { registerIdentityRoutes } from './api/identities.js';
import { ApiServer } from './api/server.js';
import { resolveApiToken } from './api/token.js';
import type { Config } from './config/schema.js';
import { DetectionEngine } from './detect/engine.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import { GrpcReceiver } from './receiver/grpc.js';
import { HttpReceiver } from './receiver/http.js';
import { openDatabase, type Db } from './store/database.js';
import { IdentityStore } from './store/identities.js';

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
  logger: Logger;
  /** Drains and stops everything, in reverse start-up order. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger?: Logger;
}

export async function startDaemon({ config, logger = createLogger(config.log.level) }: StartOptions): Promise<Daemon> {
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
    const db = openDatabase(config.storage.path);
    teardown.push(() => void db.close());
    const identities = new IdentityStore(db);
    const builder = new ActionBuilder(config, (reason) => metrics.spansIgnored.inc({ reason }));
    const pipeline = new Pipeline({ config, db, identities, builder, metrics, logger });
    const alerts = new AlertManager(db, config, metrics);
    const engine = new DetectionEngine(db, config, alerts, Date.now, true);
    pipeline.addStage(engine);
    // Until alert delivery lands, the log is where alerts go.
    alerts.subscribe((e) => e.type === 'alert' && logger.warn({ alert: e.alert }, `alert: ${e.alert.title}`));
    teardown.push(() => pipeline.close());

    const token = resolveApiToken(config.api.token, config.storage.path);
    const api = new ApiServer({ config, token: token.value, metrics, logger, isReady: () => ready });
    teardown.push(() => api.close());
    registerIdentityRoutes(api, engine, db, logger);
    const ports = { grpc: 0, http: 0, api: await api.listen(config.api.endpoint) };

    const filter = attributeFilterFor(config);
    const receiverDeps = { config, pipeline, filter, metrics, logger };
    if (config.receivers.otlp.grpc.enabled) {
      const grpc = new GrpcReceiver(receiverDeps);
      teardown.push(() => grpc.close());
      ports.grpc = await grpc.listen(config.receivers.otlp.grpc.endpoint);
    }
    if (config.receivers.otlp.http.enabled) {
      const http = new HttpReceiver(receiverDeps);
      teardown.push(() => http.close());
      ports.http = await http.listen(config.receivers.otlp.http.endpoint);
    }

    ready = true;
    logger.info(
      {
        otlpGrpc: ports.grpc ? hostPort(config.receivers.otlp.grpc.endpoint, ports.grpc) : 'disabled',
        otlpHttp: ports.http ? hostPort(config.receivers.otlp.http.endpoint, ports.http) : 'disabled',
        api: hostPort(config.api.endpoint, ports.api),
        storage: config.storage.path,
        identities: identities.size,
        apiTokenFile: token.file ?? undefined,
      },
      token.file ? `vigil ready; the API token is in ${token.file}` : 'vigil ready',
    );
    return { ports, token: token.value, config, metrics, db, identities, pipeline, alerts, engine, logger, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function hostPort(endpoint: string, port: number): string {
  return `${endpoint.slice(0, endpoint.lastIndexOf(':'))}:${port}`;
}
