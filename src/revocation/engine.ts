/**
 * The revocation engine (CONTRACT §6). As an alert is stored — inside its transaction, through the
 * AlertManager's responder — it decides whether a rule matches, records the revocation durably and returns
 * the alert's `response`. In `enforce` mode a RevocationSender then calls the broker, retrying like a
 * webhook; in `dry_run` (the default) nothing is called.
 *
 * Idempotent per credential: one row per credential key, so a later alert naming the same credential
 * gets the same `revocationId`, and a crash between deciding and calling cannot revoke twice under two
 * ids. The state of that one row moves on when a later alert can take it further: a `not_revocable`
 * credential becomes revocable when a later rule picks a broker that can revoke it, a `dry_run` one
 * is revoked for real by the first matching alert after the operator switches to `enforce`, and a
 * pending one whose broker left the config is routed by the current rules (reroute.ts), keeping its id,
 * and an operator may retry one that failed (`retry`).
 *
 * Announcements (`subscribe`) are made after the alert's transaction commits, and after the alert event
 * itself, so a websocket client sees the alert before its revocation and never a revocation that was
 * rolled back.
 */
import type { CredentialOwners } from './owners.js';
import crypto from 'node:crypto';
import type { Action } from '../actions/types.js';
import type { Alert } from '../alerts/alert.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/database.js';
import { createBrokers } from './brokers.js';
import { keyAfterRouting, rerouteStranded, routeThrough } from './reroute.js';
import { matchRule } from './rules.js';
import { RevocationSender } from './sender.js';
import { credentialKey, RevocationStore, sessionsKey, toRecord, type RevocationFilter, type RevocationRow } from './store.js';
import { REVOCATION_STATUSES, type Broker, type RevocationRecord } from './types.js';

export interface RevocationEngineDeps {
  db: Db;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
  /** Who presented each credential first (owners.ts): another identity's alert does not revoke it. */
  owners?: Pick<CredentialOwners, 'notOwnedBy'>;
}

export class RevocationEngine {
  readonly store: RevocationStore;
  private readonly brokers: Map<string, Broker>;
  private readonly listeners: Array<(r: RevocationRecord) => void> = [];
  /** Changes made inside the current alert transaction, announced once it has committed. */
  private uncommitted: RevocationRow[] = [];
  /** Brokers to send at once when the alert's transaction commits (a failed revocation sent again). */
  private readonly resumeAfterCommit = new Set<string>();
  private readonly sender: RevocationSender | null;
  private readonly now: () => number;

  constructor(private readonly deps: RevocationEngineDeps) {
    const { config, metrics, logger } = deps;
    this.now = deps.now ?? Date.now;
    this.store = new RevocationStore(deps.db);
    const interrupted = this.store.markInterrupted();
    if (interrupted > 0) logger.warn({ attempts: interrupted }, `${interrupted} revocation attempt(s) were cut short by the last stop; the broker may have acted on them, and they are sent again under the same id`);
    this.brokers = createBrokers(config);
    for (const name of this.brokers.keys()) for (const status of REVOCATION_STATUSES) metrics.revocations.inc({ broker: name, status }, 0);
    // Safety first: a switch back to dry_run must stop calls already queued in enforce mode.
    const enforce = config.revocation.mode === 'enforce';
    if (enforce) deps.db.transaction(() => rerouteStranded({ store: this.store, brokers: this.brokers, rules: config.revocation.rules, logger, now: this.now() }))();
    else for (const [broker, { n }] of this.store.pendingByBroker()) logger.warn({ broker, pending: n }, 'pending revocations are not sent while revocation.mode is dry_run');
    metrics.watchPendingRevocations([...this.brokers.keys()], () => this.store.pendingByBroker(), this.now);
    this.sender = enforce ? new RevocationSender({ ...deps, now: this.now, store: this.store, brokers: this.brokers, announce: (row) => this.announce(row) }) : null;
  }

  /** Calls `listener` with a revocation's new state on every change (CONTRACT §6 websocket object). */
  subscribe(listener: (r: RevocationRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Credentials revoked, with when (ms), the latest `limit`, oldest first. */
  revokedCredentials(limit: number): Array<[string, number]> {
    return this.store.succeeded(limit);
  }

  /** Every revocation with its current state, oldest first (`GET /v1/revocations`). */
  list(): RevocationRecord[] {
    return this.store.all().map(toRecord);
  }

  /** Up to `limit` revocations created after cursor `since` (of `only` a status or identity), and the cursor to pass next. */
  page(since: number, limit: number, only?: RevocationFilter): { revocations: RevocationRecord[]; next: number } {
    const rows = this.store.page(since, limit, only);
    return { revocations: rows.map(toRecord), next: rows.length > 0 ? rows[rows.length - 1].position : since };
  }

  /** The page cursor of the newest revocation, 0 when there is none. */
  newest(): number {
    return this.store.newestPosition();
  }

  /** See Responder.begin: anything still queued belongs to a transaction that rolled back (its alert event never came). */
  begin(): void {
    this.uncommitted = [];
    this.resumeAfterCommit.clear();
  }

  /** See Responder.revokesAnew: enforce mode, a rule and a broker for it, and no record of the credential yet. */
  revokesAnew(alert: Alert, action: Action): boolean {
    const { config } = this.deps;
    if (config.revocation.mode !== 'enforce' || !action.credential?.id) return false;
    const credential = { id: action.credential.id, type: action.credential.type };
    const match = matchRule(config.revocation.rules, alert, credential.type);
    if (!match || this.brokers.get(match.rule.broker)!.refuses(credential) !== null) return false;
    return this.store.ofCredential(credential) === undefined;
  }

  /**
   * The AlertManager responder: runs inside the transaction that stores `alert`. Returns the alert's
   * `response` when a rule matches (also when the credential turns out not to be revocable), else undefined.
   */
  respond(alert: Alert, action: Action): Alert['response'] | undefined {
    const { config } = this.deps;
    const credential = { id: action.credential?.id ?? null, type: action.credential?.type ?? null };
    const match = matchRule(config.revocation.rules, alert, credential.type);
    if (!match) return undefined;
    const broker = this.brokers.get(match.rule.broker)!;
    const refusal = this.notOwned(credential.id, alert.identity) ?? broker.refuses(credential);
    const mode = config.revocation.mode;
    const status = refusal !== null ? 'not_revocable' : mode === 'enforce' ? 'pending' : 'dry_run';
    const rule = `revocation.rules[${match.index}] matched ${alert.detector} (${alert.severity}) on alert ${alert.id}`;
    const reason =
      refusal ?? (mode === 'enforce' ? `revoking through broker "${broker.name}": ${rule}` : `dry run, nothing called: would revoke through broker "${broker.name}": ${rule}`);
    const now = this.now();
    const key =
      credential.id !== null ? credentialKey({ id: credential.id, type: credential.type })
      : refusal === null ? sessionsKey(broker.name, alert.identity)
      : null; // nothing to be idempotent on: each such alert gets its own not_revocable record

    const existing = this.existing(key, credential);
    if (existing) {
      const reopen = existing.status === 'not_revocable' && status !== 'not_revocable';
      const upgrade = existing.status === 'dry_run' && status === 'pending';
      // Pending on a broker no longer configured, and no rule routed it at start: this alert's rule does
      // (in dry_run nothing is sent anyway; the next start in enforce mode routes it).
      const stranded = existing.status === 'pending' && !this.brokers.has(existing.broker) && mode === 'enforce';
      // It failed (the broker refused, or gave up), and the credential is still in use: a new alert sends
      // it again, so a cause fixed since (a broker's policy) does not leave it valid until an operator
      // retries it by hand (review41 H4); at most once per `delivery.retryMax`, so a broker refusing for
      // good is not called at every alert (review42 L2: 40 alerts, 40 calls).
      const again = existing.status === 'failed' && status === 'pending' && now - existing.at >= config.delivery.retryMax;
      if (reopen || upgrade || stranded || again) {
        const alertFacts = { alert_id: alert.id, detector: alert.detector, severity: alert.severity, cause: alert.title };
        const why = again ? `${reason} (its last attempt failed: ${existing.reason})` : reason;
        const row: RevocationRow = stranded
          ? routeThrough({ ...existing, ...alertFacts }, broker, `broker "${existing.broker}" is no longer in the config; ${rule}`, now)
          : { ...existing, ...alertFacts, broker: broker.name, mode, status, reason: why, at: now, next_at: status === 'pending' ? now : null };
        this.store.update(row);
        this.changed(row);
        if (again) this.resumeAfterCommit.add(row.broker); // its broker may be backing off after the failure
      }
      return { action: 'revoke', mode: reopen || upgrade || stranded || again ? mode : existing.mode, revocationId: existing.id };
    }
    const row: RevocationRow = {
      id: `rv_${crypto.randomUUID().replaceAll('-', '')}`,
      cred_key: key,
      alert_id: alert.id,
      identity: alert.identity,
      credential_id: credential.id,
      credential_type: credential.type,
      broker: broker.name,
      mode,
      status,
      attempts: 0,
      reason,
      detector: alert.detector,
      severity: alert.severity,
      cause: alert.title,
      created_at: now,
      at: now,
      next_at: status === 'pending' ? now : null,
    };
    this.store.insert(row);
    this.changed(row);
    return { action: 'revoke', mode, revocationId: row.id };
  }

  /** Why `identity`'s alerts may not revoke the credential another identity presented first, or null. */
  private notOwned(credentialId: string | null, identity: string): string | null {
    const owner = credentialId === null ? undefined : this.deps.owners?.notOwnedBy(credentialId, identity);
    return owner
      ? `credential ${credentialId} was first presented by ${owner.identity} (peer group ${owner.peerGroups.join(', ')}): only an alert on the identity that presented it first revokes it`
      : null;
  }

  /**
   * An operator's retry (`POST /v1/revocations/{id}/retry`, `vigil revocation retry`), once what stopped a
   * revocation is fixed: a broker that refused it permanently (a Vault token without the policy, a
   * mistyped URL), a broker that could not revoke its credential type, a dry run to enforce now. It is
   * routed by the current rules, as its alert would be now, and sent at once, keeping its id (the
   * broker's idempotency key) and its attempt count. A pending one is sent at once, ending its broker's
   * backoff. Returns its new state; `refused` says why nothing changed; undefined: no such revocation.
   */
  retry(id: string, by = 'an operator'): { revocation: RevocationRecord } | { refused: string } | undefined {
    const row = this.store.get(id);
    if (row === undefined) return undefined;
    if (this.sender === null) return { refused: 'revocation.mode is dry_run, so no broker is called; set it to enforce and restart to revoke' };
    if (row.status === 'succeeded') return { refused: `already revoked: ${row.reason}` };
    const now = this.now();
    if (row.status === 'pending' && this.brokers.has(row.broker)) {
      this.store.dueNow(id, now);
      this.sender.resume(row.broker);
      this.deps.logger.info({ revocationId: id, broker: row.broker, by }, 'revocation retried by the operator: sending now');
      return { revocation: toRecord({ ...row, next_at: now, reason: `sending now (retried by the operator; before: ${row.reason})` }) };
    }
    // Routed as its alert would be now: another identity's credential stays unrevoked (review28 H1: a
    // retry of such a not_revocable record revoked the victim's token the ownership rule protects).
    const notOwned = this.notOwned(row.credential_id, row.identity);
    if (notOwned !== null) return { refused: `${notOwned}; revoke it by hand if it must go` };
    const match = matchRule(this.deps.config.revocation.rules, { detector: row.detector as Alert['detector'], severity: row.severity as Alert['severity'] }, row.credential_type);
    if (!match) return { refused: `no revocation rule matches it now (${row.detector}, ${row.severity}, credential type ${row.credential_type ?? 'unknown'})` };
    const broker = this.brokers.get(match.rule.broker)!;
    const why = `retried by the operator (${by}); revocation.rules[${match.index}] matched ${row.detector} (${row.severity}) on alert ${row.alert_id}`;
    const next = routeThrough(row, broker, why, now);
    if (next.status !== 'pending') return { refused: next.reason };
    next.cred_key = keyAfterRouting(this.store, next);
    this.store.update(next);
    this.announce(next);
    this.sender.resume(broker.name);
    return { revocation: toRecord(next) };
  }

  /**
   * The revocation already recorded under `key`. A credential's is found whether or not its type was
   * given each time; a type given now for one recorded without it is kept, under the typed key.
   */
  private existing(key: string | null, credential: { id: string | null; type: string | null }): RevocationRow | undefined {
    if (key === null || credential.id === null) return key === null ? undefined : this.store.byKey(key);
    const row = this.store.ofCredential({ id: credential.id, type: credential.type });
    if (row === undefined || row.credential_type !== null || credential.type === null) return row;
    const typed = { ...row, credential_type: credential.type, cred_key: key };
    this.store.update(typed);
    this.changed(typed);
    return typed;
  }

  private changed(row: RevocationRow): void {
    this.uncommitted.push(row);
  }

  /**
   * The alert's transaction committed (call from the alert event). Announces its revocations once the
   * current alert event has reached every subscriber, and starts sending.
   */
  committed(): void {
    const rows = this.uncommitted;
    this.uncommitted = [];
    if (rows.length === 0) return;
    queueMicrotask(() => {
      for (const row of rows) this.announce(row);
    });
    for (const broker of this.resumeAfterCommit) this.sender?.resume(broker);
    this.resumeAfterCommit.clear();
    this.sender?.kick();
  }

  private announce(row: RevocationRow): void {
    const { metrics, logger } = this.deps;
    metrics.revocations.inc({ broker: row.broker, status: row.status });
    const record = toRecord(row);
    // A broker that keeps failing leaves a credential valid that a rule said to revoke: a warning at its
    // first failed attempt and every tenth after (webhooks warn at their fifth), not only info lines.
    const stillFailing = row.status === 'pending' && row.attempts > 0 && (row.attempts === 1 || row.attempts % 10 === 0);
    const level = row.status === 'failed' ? 'error' : stillFailing ? 'warn' : row.status === 'dry_run' || row.status === 'pending' ? 'info' : 'warn';
    logger[level]({ revocation: record }, `revocation ${record.status}: ${record.reason}${stillFailing ? ' — the credential is still valid' : ''}`);
    for (const l of this.listeners) {
      try {
        l(record);
      } catch (err) {
        logger.error({ err }, 'revocation subscriber failed');
      }
    }
  }

  /** Stops calling brokers (in-flight calls get a short grace; pending ones stay in SQLite). Idempotent. */
  async close(): Promise<void> {
    await this.sender?.close();
  }
}
