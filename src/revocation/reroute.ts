/**
 * Pending revocations whose broker left the config (renamed, replaced, removed) would wait forever: no
 * lane calls a broker that does not exist, and a later alert for the same credential only got their
 * revocationId back. At start (enforce mode) each is routed again by the current rules, as its alert
 * would be routed now — CONTRACT §6: "the first rule, in order, whose detectors, minSeverity and
 * credentialTypes match picks the broker": through that broker when it can revoke the credential, else
 * `not_revocable` with the reason. One no rule matches any more stays pending, said at start, until a
 * later matching alert routes it (RevocationEngine.respond). The same goes for a broker still configured
 * under its name whose type changed so that it cannot revoke the credential any more (webhook to vault),
 * except that one no rule routes becomes `not_revocable` with that broker's reason.
 *
 * The revocation id is kept. It is what every alert naming the credential carries ("a later matching
 * alert for the same credential carries the same revocationId") and the broker's idempotency key
 * (`webhook-id`, the SET `jti`), so a revocation service that already saw it under the old name revokes
 * once.
 */
import type { Alert } from '../alerts/alert.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { matchRule } from './rules.js';
import { sessionsKey, type RevocationRow, type RevocationStore } from './store.js';
import type { Broker } from './types.js';

/** What routing a revocation through `broker` makes of it: its new state, to store and announce. */
export function routeThrough(row: RevocationRow, broker: Broker, why: string, now: number): RevocationRow {
  const refusal = broker.refuses({ id: row.credential_id, type: row.credential_type });
  return {
    ...row,
    broker: broker.name,
    mode: 'enforce',
    status: refusal === null ? 'pending' : 'not_revocable',
    reason: refusal ?? `revoking through broker "${broker.name}": ${why}`,
    at: now,
    next_at: refusal === null ? now : null,
  };
}

/**
 * The key a revocation routed anew is found by. A sessions revocation (no credential id) is keyed per
 * broker: under its new broker's key, later alerts find it — unless that broker already has one for the
 * identity (then both stand; cutting sessions twice is harmless).
 */
export function keyAfterRouting(store: RevocationStore, next: RevocationRow): string | null {
  if (next.status !== 'pending' || next.credential_id !== null) return next.cred_key;
  const key = sessionsKey(next.broker, next.identity);
  return key === next.cred_key || store.byKey(key) === undefined ? key : next.cred_key;
}

export interface RerouteDeps {
  store: RevocationStore;
  brokers: Map<string, Broker>;
  rules: Config['revocation']['rules'];
  logger: Logger;
  now: number;
}

/**
 * Routes every pending revocation of a broker no longer configured, or no longer able to revoke it (its
 * type changed under the same name), by the current rules (see above).
 */
export function rerouteStranded({ store, brokers, rules, logger, now }: RerouteDeps): void {
  for (const from of store.pendingByBroker().keys()) {
    const current = brokers.get(from);
    const gone = current === undefined ? 'no longer in the config' : `now of type ${current.type}, which cannot revoke them`;
    const outcomes = new Map<string, { to: string; status: string; n: number }>();
    let unrouted = 0;
    for (const row of store.pendingOn(from)) {
      const refusal = current?.refuses({ id: row.credential_id, type: row.credential_type }) ?? null;
      if (current !== undefined && refusal === null) continue; // it can still go where it was going
      const alert = { detector: row.detector as Alert['detector'], severity: row.severity as Alert['severity'] };
      const match = matchRule(rules, alert, row.credential_type);
      let next: RevocationRow;
      if (match) {
        const broker = brokers.get(match.rule.broker)!;
        const why = `broker "${from}" is ${gone}; revocation.rules[${match.index}] matched ${row.detector} (${row.severity}) on alert ${row.alert_id}`;
        next = routeThrough(row, broker, why, now);
        next.cred_key = keyAfterRouting(store, next);
      } else if (current !== undefined) {
        // Left pending, its broker would be called with a request it cannot build.
        next = { ...row, status: 'not_revocable', reason: refusal!, at: now, next_at: null };
      } else {
        unrouted++;
        continue;
      }
      store.update(next);
      const tally = outcomes.get(`${next.broker}\u0000${next.status}`) ?? { to: next.broker, status: next.status, n: 0 };
      tally.n++;
      outcomes.set(`${next.broker}\u0000${next.status}`, tally);
    }
    for (const { to, status, n } of outcomes.values()) {
      const what = status === 'pending' ? `re-routed to broker "${to}"` : `not_revocable: broker "${to}", which the rules now pick, cannot revoke them`;
      logger.warn({ broker: from, to, revocations: n }, `${n} pending revocation(s) of broker "${from}", ${gone}: ${what}`);
    }
    if (unrouted > 0) {
      logger.warn(
        { broker: from, pending: unrouted },
        `${unrouted} pending revocation(s) name broker "${from}", no longer in the config, and no rule routes them now; they are not sent until a later matching alert routes them`,
      );
    }
  }
}
