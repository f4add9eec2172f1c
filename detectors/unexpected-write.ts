/**
 * unexpected_write: the identity writes, deletes or executes on a target or with a tool where its baseline
 * only reads (or where it has no history), or writes at all when its baseline is read-only.
 * The subject is the tool or target written to.
 */
import type { Severity } from '../src/config/schema.js';
import { accessItem, accessKey } from '../baselines/keys.js';
import { WRITE_CLASSES } from '../src/actions/types.js';
import { raise, span, surpriseScore, times } from './severity.js';
import { knownToPeers } from './peers.js';
import type { Detector, DetectorInput, Finding } from './types.js';

const BASE: Record<string, Severity> = { write: 'medium', delete: 'high', execute: 'high' };

/** An action without an access class teaches none (most do not): shared, never changed. */
const NO_KEYS: readonly string[] = [];

/** The `access` keys an action teaches: per subject, and the identity-wide total per class. */
export function accessKeys(action: DetectorInput['action']): readonly string[] {
  if (!action.access || action.kind === 'model') return NO_KEYS;
  return [accessKey(action.target, action.access), accessKey('*', action.access)];
}

export const unexpectedWrite: Detector = {
  id: 'unexpected_write',
  evaluate({ action, now, view, config }: DetectorInput): Finding | null {
    const access = action.access;
    if (!access || access === 'read' || action.kind === 'model') return null;
    const subject = action.target;
    const classKey = accessKey(subject, access);
    if (view.own(classKey) > 0) return null;
    const peersDoing = view.peers(classKey);
    const peersKnow = knownToPeers(view, classKey);
    if (view.phase === 'peer' && peersKnow) return null;

    const reads = view.own(accessKey(subject, 'read'));
    const everWrote = WRITE_CLASSES.some((c) => view.own(accessKey('*', c)) > 0);
    const history = view.phase === 'own' ? `over ${span(now - view.firstSeen)}` : 'as a new identity';
    let why: string;
    if (!everWrote) why = `Its baseline is read-only: no write, delete or execute ${history} (${view.actions.toLocaleString('en-US')} actions)`;
    else if (reads > 0) why = `It read \`${subject}\` ${times(reads)} ${history} and never ${access === 'write' ? 'wrote to' : `${access}d`} it`;
    else why = `It has no history with \`${subject}\``;

    let severity = BASE[access];
    if (!everWrote) severity = raise(severity);
    if (action.zone && config.sensitive.zones.includes(action.zone)) severity = raise(severity);
    if (peersKnow && everWrote) severity = 'low';
    const peerNote = peersDoing > 0 ? ` ${peersDoing} of its peers do this.` : '';
    return {
      detector: 'unexpected_write',
      severity,
      score: peersKnow ? 0.3 : surpriseScore(Math.max(reads, view.evidence / 10)),
      subject,
      title: `Unexpected ${access} on ${subject}`,
      explanation:
        (action.accessBy
          ? `${action.identity}'s \`${subject}\` led to ${access === 'execute' ? 'an' : 'a'} ${access} by ${action.accessBy}, which served it`
          : `${action.identity} performed ${access === 'execute' ? 'an' : 'a'} ${access} on \`${subject}\``) +
        `${action.zone ? ` (zone ${action.zone})` : ''}. ${why}.${peerNote}`,
      traceIds: [action.traceId],
      spanIds: [action.spanId],
      details: {
        access,
        kind: action.kind,
        priorReads: Math.round(reads),
        readOnlyBaseline: !everWrote,
        ...(action.accessBy ? { accessBy: action.accessBy } : {}),
        phase: view.phase,
        // What an operator allows to make this normal (`vigil baseline allow IDENTITY access ITEM`, or
        // POST /v1/identities/{identity}/allow with `{"items": allow}`).
        allow: [{ dimension: 'access', item: accessItem(subject, access) }],
      },
      tags: ['OWASP-ASI02', 'OWASP-ASI03', 'OWASP-NHI5', 'MAESTRO-L3'],
    };
  },
};
