/**
 * At start: deliveries pending for an endpoint no longer in the config. The outbox keys a delivery by
 * its endpoint's url, so once an operator corrects a misspelt url (a 404 for hours, then fixed and
 * restarted) the alerts that failed because of the mistake belong to no configured endpoint, and they
 * were never sent. The rule, per pending delivery of such an endpoint:
 *
 * - it goes to every configured endpoint (not disabled by a 410) whose filters want the alert and that
 *   does not have it yet, pending or delivered — a corrected url gets its backlog, and an endpoint that
 *   already received an alert does not get it twice because another endpoint was removed;
 * - if every configured endpoint that wants the alert already has it, it is dropped: nothing is lost;
 * - if no configured endpoint wants the alert, it is kept: dropping it would lose an alert no webhook
 *   has, and it is sent if its endpoint is configured again (or moves when one that wants it is added).
 *
 * A moved delivery keeps its body and its `webhook-id` (the alert id, CONTRACT §6: stable for the alert
 * and endpoint), starts with no attempts and is due at once. Knowing that an endpoint "has" an alert it
 * was delivered relies on the delivered mark (migration 11); deliveries made before that migration
 * are not known, so after an upgrade such an alert may arrive twice (receivers dedupe on webhook-id).
 */
import type { Alert } from '../alerts/alert.js';
import type { Logger } from '../log.js';
import type { OutboxStore } from './outbox-store.js';
import { printableUrl } from './redact-url.js';

/** A configured endpoint, as re-homing needs it. */
export interface HomeEndpoint {
  url: string;
  disabled: boolean;
  wants(alert: Pick<Alert, 'severity' | 'detector'>): boolean;
}

/** Applies the rule above to every pending delivery of an endpoint not in `endpoints`. */
export function rehomeOrphans(store: OutboxStore, endpoints: readonly HomeEndpoint[], logger: Logger, now: number): void {
  const configured = new Set(endpoints.map((e) => e.url));
  for (const url of store.pendingByEndpoint().keys()) {
    if (configured.has(url)) continue;
    let sent = 0;
    let dropped = 0;
    let kept = 0;
    for (const row of store.pendingFor(url)) {
      const alert = alertOf(row.body);
      const homes = alert === null ? [] : endpoints.filter((e) => !e.disabled && e.wants(alert));
      if (homes.length === 0) {
        kept++;
        continue;
      }
      const missing = homes.filter((e) => !store.has(e.url, row.msg_id));
      for (const e of missing) store.insert(e.url, row.msg_id, row.body, now);
      store.drop(row);
      if (missing.length > 0) sent++;
      else dropped++;
    }
    logger.warn(
      { endpoint: printableUrl(url), sent, dropped, kept },
      `undelivered webhooks of an endpoint no longer in the config (${printableUrl(url)}): ${sent} sent to configured endpoints that want them and do not have them, ` +
        `${dropped} dropped (every configured endpoint that wants them has them), ${kept} kept (no configured endpoint wants them; they are sent if it is configured again)`,
    );
  }
}

/** The filter facts of a stored `alert.created` payload, or null for a body that is not one. */
function alertOf(body: string): Pick<Alert, 'severity' | 'detector'> | null {
  try {
    const data = (JSON.parse(body) as { data?: Partial<Alert> }).data;
    return typeof data?.severity === 'string' && typeof data.detector === 'string' ? { severity: data.severity, detector: data.detector } : null;
  } catch {
    return null;
  }
}
