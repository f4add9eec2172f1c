/**
 * `revocation.rules`: which alerts revoke, and through which broker. The first rule, in config order,
 * whose `detectors`, `minSeverity` (inclusive) and `credentialTypes` all match wins (CONTRACT §6).
 */
import { selects, type Alert } from '../alerts/alert.js';
import type { Config } from '../config/schema.js';
import { DETECTOR_IDS } from '../../detectors/types.js';

export type RevocationRule = Config['revocation']['rules'][number];

/** The rule that decides an alert, with its index (for the audit reason), or null when none matches. */
export function matchRule(
  rules: readonly RevocationRule[],
  alert: Pick<Alert, 'detector' | 'severity'>,
  credentialType: string | null,
): { rule: RevocationRule; index: number } | null {
  // Alerts about the telemetry (telemetry_integrity) name a claim Vigil refused: a `*` rule does not
  // cover them, or a client could get the identity it pretended to be revoked.
  if (!(DETECTOR_IDS as readonly string[]).includes(alert.detector)) return null;
  for (const [index, rule] of rules.entries()) {
    if (!selects(rule, alert)) continue;
    // A rule naming credential types cannot match a credential whose type the spans did not say: revoking
    // an unknown kind of credential through a type-specific broker would be a guess.
    if (!rule.credentialTypes.includes('*') && (credentialType === null || !rule.credentialTypes.includes(credentialType))) continue;
    return { rule, index };
  }
  return null;
}
