/**
 * retry_storm: failures and retries burst far above the identity's own usual share (runaway loops,
 * credential stuffing, probing). Judged as a share, not a rate, so a burst of 5x the usual traffic with
 * the usual mix is quiet, an identity with a flaky downstream (a high usual share) is quiet, and a quiet
 * identity's small sustained loop is loud.
 *
 * Two windows (the short `window`, then `sustainedWindow`, where a loop too slow for the short one adds
 * up) and, in each, two judgements: the identity's share as a whole, and the failing tool or target's
 * share against its own usual share, so that many other calls in the same minutes (cheap reads made to
 * pad the window) do not dilute a loop on one target. The subject is the failing tool or target.
 */
import { cumulativeStdNormalProbability } from 'simple-statistics';
import { failuresKey } from '../baselines/keys.js';
import type { Severity } from '../src/config/schema.js';
import { span } from './severity.js';
import type { Detector, DetectorInput, Finding, OutcomeWindow } from './types.js';

/**
 * Prior for the usual share of failures + retries: as if 50 actions with one bad had been seen, so a
 * short or spotless history does not make a single failure look like a storm. A subject's usual share
 * has the identity's as its prior, with the same weight.
 */
const PRIOR_ACTIONS = 50;
const PRIOR_BAD = 1;
/** Failures + retries that make a storm high, within the short window. */
const HIGH_EVENTS = 50;

/** The identity's or a subject's window, against its usual share. */
interface Judged {
  bad: number;
  actions: number;
  usual: number;
  z: number;
}

/**
 * A binomial z-score of `bad` in `actions` against `usual`, when the share is at least twice usual and
 * the z-score reaches `zScore`; else null.
 */
function judge(bad: number, actions: number, usual: number, zScore: number): Judged | null {
  if (bad / actions < 2 * usual) return null;
  const z = (bad - actions * usual) / Math.sqrt(actions * usual * (1 - usual));
  return z >= zScore ? { bad, actions, usual, z } : null;
}

export const retryStorm: Detector = {
  id: 'retry_storm',
  evaluate(input: DetectorInput): Finding | null {
    if (!input.action.failed && !input.action.retry) return null;
    const { minEvents, sustainedMinEvents } = input.config.detectors.retry_storm;
    return inWindow(input, input.window, minEvents) ?? inWindow(input, input.sustainedWindow, sustainedMinEvents);
  },
};

function inWindow(input: DetectorInput, window: OutcomeWindow, minEvents: number): Finding | null {
  const { action, view, scope, config } = input;
  const { zScore } = config.detectors.retry_storm;
  // The usual shares are without this window: its first failures were learned before the storm was one,
  // and judging a storm against a baseline that already contains it would let it hide itself.
  const usual = (Math.max(0, view.outcome.bad - window.bad) + PRIOR_BAD) / (Math.max(0, view.outcome.actions - window.actions) + PRIOR_ACTIONS);
  // The failing subject first, the more precise account; its own usual share needs the identity's own
  // history (a new identity's usual outcome is its peers' as a whole), with its failures counted per subject.
  const subject = subjectKey(action, scope);
  const mine = window.subject(action.target);
  if (view.phase === 'own' && view.failuresBySubject && subject !== null && mine.bad >= minEvents) {
    const learnedBad = Math.max(0, view.own(failuresKey(subject)) - mine.bad);
    const learnedUses = Math.max(0, view.own(subject) - mine.actions);
    const subjectUsual = (learnedBad + PRIOR_ACTIONS * usual) / (learnedUses + PRIOR_ACTIONS);
    const alone = judge(mine.bad, mine.actions, subjectUsual, zScore);
    if (alone) return finding(input, window, alone, action.target, true);
  }
  if (window.bad < minEvents) return null;
  const whole = judge(window.bad, window.actions, usual, zScore);
  return whole ? finding(input, window, whole, mostFailing(window, action.target), false) : null;
}

/**
 * The baseline key counting an action's uses of its tool, target or delegated agent (its first scope
 * item), under which its failures are learned too (`failuresKey`); null for a model call (its scope
 * items are the provider's host and zone).
 */
export function subjectKey(action: DetectorInput['action'], scope: DetectorInput['scope']): string | null {
  return scope.length > 0 && scope[0].item === action.target ? scope[0].key : null;
}

function mostFailing(window: OutcomeWindow, fallback: string): string {
  let subject = fallback;
  let most = 0;
  for (const [s, count] of window.badBySubject) if (count > most) [subject, most] = [s, count];
  return subject;
}

function finding(input: DetectorInput, window: OutcomeWindow, j: Judged, subject: string, bySubject: boolean): Finding {
  const { action, config } = input;
  const short = window === input.window;
  const share = j.bad / j.actions;
  // A share is high when most of what the identity did failed; a subject's, only by its count (one
  // target failing ten times in a row is an outage as often as an attack).
  const severity: Severity = (short && j.bad >= HIGH_EVENTS) || (!bySubject && share >= 0.8) ? 'high' : 'medium';
  const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
  const within = span(Math.max(action.time - window.since, 60_000));
  const badBySubject = window.badBySubject; // summed over the buckets when read
  const onSubject = badBySubject.get(subject) ?? 0;
  const explanation = bySubject
    ? `${action.identity} had ${j.bad} failures and retries in ${j.actions} calls to \`${subject}\` within ${within} (${pct(share)}), ` +
      `among ${window.actions} actions in all. Its usual share on \`${subject}\` is ${pct(j.usual)}.`
    : `${action.identity} had ${j.bad} failures and retries in ${j.actions} actions within ${within} ` +
      `(${pct(share)}; \`${subject}\` ${onSubject} of them). Its usual share is ${pct(j.usual)}.`;
  return {
    detector: 'retry_storm',
    severity,
    score: Math.min(0.99, cumulativeStdNormalProbability(j.z - config.detectors.retry_storm.zScore)),
    subject,
    title: `Retry storm on ${subject}`,
    explanation,
    traceIds: [action.traceId],
    spanIds: [action.spanId],
    details: {
      failuresAndRetries: j.bad, actions: j.actions, share, usualShare: j.usual, zScore: j.z,
      judged: bySubject ? 'subject' : 'identity', windowMs: window.length, bySubject: Object.fromEntries(badBySubject),
    },
    tags: ['OWASP-ASI08', 'OWASP-NHI4', 'MAESTRO-L4'],
  };
}
