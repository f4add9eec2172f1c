/**
 * The part of Vigil that serve and replay share: the pipeline and what follows it, in an order that
 * matters. Built in one place so that a backtest (`vigil replay`) runs exactly what the daemon runs.
 */
import { unnamed } from './actions/identity.js';
import { AlertManager } from './alerts/manager.js';
import type { Config } from './config/schema.js';
import { DetectionEngine } from './detect/engine.js';
import { BaselineOperator } from './detect/operator.js';
import { FutureSpansWatch, reportDisputedCredential, reportSuspectSpans } from './detect/telemetry-integrity.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import { CredentialOwners } from './revocation/owners.js';
import { settledRevocationsSweep } from './revocation/store.js';
import type { Db } from './store/database.js';
import { IdentityStore } from './store/identities.js';
import { StoreFileGuard } from './store/file-guard.js';
import { Retention, retentionClock } from './store/retention.js';

export interface Detection {
  pipeline: Pipeline;
  identities: IdentityStore;
  alerts: AlertManager;
  engine: DetectionEngine;
  /** Operators' allow, reset and show (the identity API): built on the engine, not part of its stage. */
  operator: BaselineOperator;
  owners: CredentialOwners;
}

/** How often the placeholder-name warning may be logged. */
const UNNAMED_WARN_EVERY_MS = 60 * 60_000;

export function buildDetection(deps: { config: Config; db: Db; metrics: Metrics; logger: Logger; mode: 'serve' | 'replay' }): Detection {
  const { config, db, metrics, logger, mode } = deps;
  // At most hourly, however many placeholder names appear (review43 L1: one line each, without bound).
  let unnamedSince = 0;
  let unnamedWarnedAt = Number.NEGATIVE_INFINITY;
  const identities = new IdentityStore(db, config.baselines.maxHotIdentities, (identity) => {
    if (!unnamed(identity)) return;
    unnamedSince++;
    if (Date.now() - unnamedWarnedAt < UNNAMED_WARN_EVERY_MS) return;
    unnamedWarnedAt = Date.now();
    logger.warn(
      { identity, newPlaceholderNames: unnamedSince },
      `spans name their identity only by the SDK's placeholder service name (${identity}): every agent that sets none is judged as this one identity; set OTEL_SERVICE_NAME or nhi.identity on each`,
    );
    unnamedSince = 0;
  }, config.time.lateness);
  const retentionNow = retentionClock(identities, config.time.maxFutureSkew);
  const alerts = new AlertManager(db, config, metrics, Date.now, retentionNow);
  // Serving, event time follows the wall clock too (held findings are released as it passes).
  const engine = new DetectionEngine(db, config, alerts, Date.now, mode === 'serve');
  const owners = new CredentialOwners(db, (action, owner) => reportDisputedCredential(alerts, action, owner));
  // Last: it starts the ingest worker and the commit timer, so a store that fails to load above leaves
  // nothing running (review35 M3: the timer went on committing to the closed store).
  const pipeline = new Pipeline({ config, db, identities, metrics, logger, mode });
  metrics.countLate(() => engine.late);
  // First: a store whose file went is made read-only before any stage writes to it (file-guard.ts).
  if (mode === 'serve' && config.storage.path !== ':memory:') pipeline.addStage(new StoreFileGuard(db, config.storage.path, logger));
  // Retention before the engine: the peer groups it changes are written by the engine's checkpoint in the same commit.
  pipeline.addStage(
    new Retention({
      identities,
      now: retentionNow,
      forgetIdleAfter: config.baselines.forgetIdleAfter,
      maxIdentities: config.baselines.maxIdentities,
      forget: (id) => engine.forget(id),
      alerts,
      alertRetention: config.alerts.retention,
      settledRevocations: settledRevocationsSweep(db),
      onForgotten: (n) => metrics.identitiesForgotten.inc(n),
      onAlertsDeleted: (n) => metrics.alertsDeleted.inc(n),
    }),
  );
  pipeline.addStage(owners); // ahead of the engine: its alerts consult the owners
  pipeline.addStage(engine);
  const aheadOfClock = new FutureSpansWatch(logger);
  pipeline.onSuspectSpans = (suspects) => {
    reportSuspectSpans(alerts, config, suspects);
    for (const s of suspects) aheadOfClock.note(s);
  };
  return { pipeline, identities, alerts, engine, operator: new BaselineOperator(engine, alerts, identities), owners };
}
