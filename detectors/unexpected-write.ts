/**
 * unexpected_write: the identity writes, deletes or executes on a target or with a tool where its baseline
 * only reads (or where it has no history), or writes at all when its baseline is read-only.
 * Findings fold on the tool or target with the class (`crm.rec|delete`), as an operator allows it: folded
 * on the target alone, the writes after a delete counted as deletes (review27 M9).
 *
 * A release that gives a whole peer group a new tool that writes (or renames one) is a rollout, as for
 * scope_drift (review34 F1): a plain `write`, outside sensitive zones and targets, by an identity that
 * writes elsewhere, is held `rolloutGrace` and dropped (and learned) when enough peers adopt it. Deletes,
 * executes and sensitive writes are never a rollout.
 *
 * A DB call whose span names no collection has one target per database (CONTRACT §3), so a tool that
 * inserts notes hid `UPDATE users SET role='admin'` (review34 E2). Its statement's tables (`Action.table`)
 * are learned as subjects of their own (`postgresql/crm/users`), and once a database's writes are learned
 * table by table, a write to a table the identity never wrote to is judged like one to a new target.
 */
import type { Severity } from '../src/config/schema.js';
import { accessItem, accessKey } from '../baselines/keys.js';
import { WRITE_CLASSES } from '../src/actions/types.js';
import { code, countedNote, raise, span, surpriseScore, times } from './severity.js';
import { knownToPeers, peersHaveLearned } from './peers.js';
import { holdForRollout, rolloutUnderWay } from './scope-drift.js';
import type { Detector, DetectorInput, Finding } from './types.js';

const BASE: Record<string, Severity> = { write: 'medium', delete: 'high', execute: 'high' };

/** An action without an access class teaches none (most do not): shared, never changed. */
const NO_KEYS: readonly string[] = [];

/**
 * The `access` keys an action teaches: per subject, and the identity-wide total per class; for a DB call
 * with tables, per table too, and its database's total of writes learned with their tables.
 */
export function accessKeys(action: DetectorInput['action']): readonly string[] {
  const { access, target, table } = action;
  if (!access || action.kind === 'model') return NO_KEYS;
  const keys = [accessKey(target, access), accessKey('*', access)];
  if (table) keys.push(accessKey(tableSubject(target, table), access), accessKey(tableSubject(target, '*'), access));
  return keys;
}

/** The subject keys an action's write is held on for a rollout: its target's, and its tables' when it names them. */
export function writeSubjectKeys(action: DetectorInput['action']): readonly string[] {
  const keys = accessKeys(action);
  return keys.length > 2 ? [keys[0], keys[2]] : keys.slice(0, 1);
}

/** A database's table as a subject: `postgresql/crm/users` (`*`: all its tables together). */
function tableSubject(target: string, table: string): string {
  return `${target}/${table}`;
}

/**
 * What a write is judged on: its target, or for a DB call with tables, its tables, once writes to the
 * database are known and at least half of them were learned with their tables (a mature identity's
 * writes from before an upgrade were learned without: judged by table, each of its tables would be new).
 */
function judgedSubject({ action, view }: DetectorInput): string {
  const { target, table } = action;
  if (!table) return target;
  const onTarget = accessKey(target, action.access!);
  const byTable = accessKey(tableSubject(target, '*'), action.access!);
  const judged = tableSubject(target, table);
  if (view.phase === 'own') return view.own(onTarget) > 0 && view.own(byTable) >= view.own(onTarget) / 2 ? judged : target;
  const known = (k: string) => view.own(k) > 0 || view.peers(k) > 0; // a new identity: what it or its peers learned
  return known(onTarget) && known(byTable) ? judged : target;
}

export const unexpectedWrite: Detector = {
  id: 'unexpected_write',
  evaluate(input: DetectorInput): Finding | null {
    const { action, scope, now, view, config } = input;
    const access = action.access;
    if (!access || access === 'read' || action.kind === 'model') return null;
    const subject = judgedSubject(input);
    const byTable = subject !== action.target;
    const item = accessItem(subject, access);
    const classKey = accessKey(subject, access);
    if (view.own(classKey) > 0) return null;
    const peersDoing = view.peers(classKey);
    const peersKnow = knownToPeers(view, classKey);
    if (view.phase === 'peer' && peersKnow) return null;

    const reads = view.own(accessKey(subject, 'read'));
    // Read-only is said of what the judgement rests on: a new identity's peers, not its own few actions
    // (review27 M5: two reads made a new instance "read-only", and its first write high, in a group that writes).
    const writes = (k: string) => (view.phase === 'own' ? view.own(k) : view.peers(k)) > 0;
    const everWrote = WRITE_CLASSES.some((c) => writes(accessKey('*', c)));
    const history = view.phase === 'own' ? `over ${span(now - view.firstSeen)}` : 'as a new identity';
    // Uses of the subject with no access class on their spans (most tool spans): neither reads nor writes.
    const uses = scope.length > 0 && scope[0].item === subject ? view.own(scope[0].key) : 0;
    const done = access === 'write' ? 'wrote to' : `${access}d`;
    let why: string;
    if (!everWrote) {
      why = view.phase === 'own'
        ? `Its baseline is read-only: it has learned no write, delete or execute ${history} (${(view.actions - 1).toLocaleString('en-US')} actions before this one)`
        : 'It is new, and neither it nor its peers have learned any write, delete or execute';
    } else if (byTable) {
      const onTarget = view.own(accessKey(action.target, access));
      why = view.phase === 'own'
        ? `Its ${access}s on ${code(action.target)} (${times(onTarget)} ${history}, ${countedNote(config.baselines.halfLife)}) never went to its table ${code(action.table!)}`
        : `It is new, and its peers' ${access}s on ${code(action.target)} never went to its table ${code(action.table!)}`;
    } else if (reads > 0) why = `It read ${code(subject)} ${times(reads)} ${history} (${countedNote(config.baselines.halfLife)}) and never ${done} it`;
    else if (uses > 0) why = `It used ${code(subject)} ${times(uses)} ${history} (${countedNote(config.baselines.halfLife)}), with no read or ${access} on record (its spans named no access class)`;
    else why = `It has no history with ${code(subject)}`;

    const sensitiveZone = action.zone !== null && config.sensitive.zones.includes(action.zone);
    const sensitive = action.sensitive || sensitiveZone;
    const holdable = access === 'write' && everWrote && !sensitive;
    if (holdable && rolloutUnderWay(input, classKey)) return null; // learned, as its peers' first writes will be

    let severity = BASE[access];
    if (!everWrote) severity = raise(severity);
    if (sensitiveZone) severity = raise(severity);
    // Peers that do it make a plain write usual; a delete, an execute or a sensitive write only a step less
    // so (review34 E3: two peers that purge customers as their job made a third one's mass delete two lows).
    if (peersKnow && everWrote) severity = holdable ? 'low' : lower(severity);
    const peerNote = peersDoing > 0 ? ` ${peersHaveLearned(view, classKey)} this ${access}.` : '';
    return {
      detector: 'unexpected_write',
      severity,
      surprise: peersKnow ? 0.3 : surpriseScore(Math.max(reads, view.evidence / 10)),
      subject: item,
      title: `Unexpected ${access} on ${subject}`,
      explanation:
        (action.accessBy
          ? `${action.identity}'s ${code(subject)} led to ${access === 'execute' ? 'an' : 'a'} ${access} by ${action.accessBy}, which served it`
          : `${action.identity} performed ${access === 'execute' ? 'an' : 'a'} ${access} on ${code(subject)}`) +
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
        allow: [{ dimension: 'access', item }],
      },
      tags: ['OWASP-ASI02', 'OWASP-ASI03', 'OWASP-NHI5', 'MAESTRO-L3'],
      ...(holdable && severity !== 'low' ? holdForRollout(input, classKey) : {}),
    };
  },
};

/** One step less severe, never below medium. */
function lower(s: Severity): Severity {
  return s === 'critical' ? 'high' : 'medium';
}
