/**
 * retry_storm: failures and retries burst far above the identity's own usual share (runaway loops,
 * credential stuffing, probing). Judged as a share, not a rate, so a burst of 5x the usual traffic with
 * the usual mix is quiet, an identity with a flaky downstream (a high usual share) is quiet, and a quiet
 * identity's small sustained loop is loud.
 *
 * Two windows (the short `window`, then `sustainedWindow`, where a loop too slow for the short one adds
 * up) and, in each, two judgements: the identity's share as a whole, and the failing tool or target's
 * share against its own usual share, so that many other calls in the same minutes (cheap reads made to
 * pad the window) do not dilute a loop on one target. The subject is the failing tool or target. A storm
 * of calls to a target that usually fails as often is raised by the identity's share alone, at medium
 * at most, saying so. Only what the baseline learned of a window is taken out of its usual shares.
 */
import { cumulativeStdNormalProbability } from 'simple-statistics';
import { failuresKey, SEP } from '../baselines/keys.js';
import type { Severity } from '../src/config/schema.js';
import { code, span } from './severity.js';
import type { Detector, DetectorInput, Finding, OutcomeWindow, StormRun } from './types.js';

/**
 * Prior for the usual share of failures + retries: as if 50 actions with one bad had been seen, so a
 * short or spotless history does not make a single failure look like a storm. A subject's usual share
 * has the identity's as its prior, with the same weight.
 */
const PRIOR_ACTIONS = 50;
const PRIOR_BAD = 1;
/** Failures + retries that make a storm high, within the short window. */
const HIGH_EVENTS = 50;
/**
 * After storms on one subject have followed each other this long (no gap of more than two sustained windows),
 * those that stay at the run's level are raised at low: a downstream that degrades and stays so raised a
 * medium every hour for as long as it lasted, and it is not learned while it raises them (review32 M4).
 * High ones stay high.
 */
const SUSTAINED_MS = 6 * 3_600_000;
/**
 * A storm stays at its run's level while its subject's calls, and its failures + retries, in the short window
 * are at most this many times the most the run's storms raised at their own severity had. Above it, the
 * storm is raised at its own severity and begins a new run (review33 M4: after 6 hours of a slow loop of
 * failed logins, credential stuffing at ten times its rate on the same login was raised at low). A
 * degraded dependency is called as often as before, so its storms stay at their level.
 */
const RUN_RISE = 2;

/** A window (the identity's, or a subject's) against its usual share. */
interface Judged {
  bad: number;
  actions: number;
  usual: number;
  z: number;
}

/**
 * A binomial z-score of `bad` in `actions` against `usual`, when the share is at least twice usual (a
 * small rise on a large volume is no storm), or halfway from usual to all failing where twice is out of
 * reach (a target that usually fails half the time can still be stormed), and the z-score reaches
 * `zScore`; else null.
 */
function judge(bad: number, actions: number, usual: number, zScore: number): Judged | null {
  if (bad / actions < Math.min(2 * usual, (1 + usual) / 2)) return null;
  const z = (bad - actions * usual) / Math.sqrt(actions * usual * (1 - usual));
  return z >= zScore ? { bad, actions, usual, z } : null;
}

/** A subject's usual share: what is judged (`share`, smoothed towards the identity's) and what was learned. */
interface SubjectUsual {
  share: number;
  learnedBad: number;
  learnedUses: number;
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
  // The usual shares are without what the baseline learned of this window: its first failures were learned
  // before the storm was one, and judging a storm against a baseline that already contains it would let it
  // hide itself. Only the learned part: failures that raised an alert never were (review27 H1: taking
  // them out too emptied a flaky target's history, "usual share 0.0%", once its storm had been raised).
  const learned = window.learned;
  const usual = (Math.max(0, view.outcome.bad - learned.bad) + PRIOR_BAD) / (Math.max(0, view.outcome.actions - learned.actions) + PRIOR_ACTIONS);
  // A subject's own usual share needs the identity's own history (a new identity's usual outcome is its
  // peers' as a whole), with its failures counted per subject.
  const perSubject = view.phase === 'own' && view.failuresBySubject;
  const usualOn = (s: string): SubjectUsual | null => (perSubject && s.includes(SEP) ? subjectUsual(input, window, s, usual) : null);

  // The failing subject first, the more precise account.
  const key = subjectKey(action, scope);
  const here = key === null ? null : window.subject(key);
  const mine = here !== null && here.bad >= minEvents ? usualOn(key!) : null;
  if (mine !== null) {
    const alone = judge(here!.bad, here!.actions, mine.share, zScore);
    if (alone) return finding(input, window, alone, key!, { subject: mine });
  }
  if (window.bad < minEvents) return null;
  // Then the identity's window as a whole, against its usual share: a loop spread over many targets, or
  // a runaway loop on a target that usually fails (an agent calling a broken endpoint 36 times a second).
  const whole = judge(window.bad, window.actions, usual, zScore);
  if (whole === null) return null;
  // Named after the subject most of its failures are on. When that subject's own usual share covers them,
  // the burst is in how often it was called, not in how often it failed: medium at most, and said (review27
  // H2: ten usual failures of a target failing 80% of the time were high, and explained by the identity's 5.9% alone).
  const asWhole = (j: Judged, s: string, without?: Without) => {
    const its = usualOn(s);
    const on = window.subject(s);
    const flaky = its !== null && 2 * on.bad >= j.bad && judge(on.bad, on.actions, its.share, zScore) === null ? its : undefined;
    return finding(input, window, j, s, { flaky, without });
  };
  const own = key ?? action.target;
  const most = mostFailing(window, own);
  const degraded = most === own ? null : longRun(input, nameOf(most));
  if (degraded === null) return asWhole(whole, most);
  // Most failures are on another subject whose storms have gone on for SUSTAINED_MS (a degraded dependency,
  // its storms lowered): this failure is judged with the rest of the window as though that subject had not
  // failed, and raised under the rest's own name (review33 M5: failed logins spread over four endpoints
  // during an outage were named after the outage, and lowered with it). Not a storm without it, this failure
  // is no evidence of the degradation's either: raised as such, it would leave the sustained window, where a
  // slower loop of them still adds up.
  const rest = window.bad - window.subject(most).bad;
  const j = rest >= minEvents ? judge(rest, window.actions, usual, zScore) : null;
  return j && asWhole(j, mostFailing(window, own, most), { subject: nameOf(most), since: degraded.since });
}

/** A subject left out of a storm judged as a whole: its storms have gone on since `since` (a sustained degradation). */
interface Without {
  subject: string;
  since: number;
}

/** The identity's run of storms on `subject` (a finding's subject), if it has gone on for SUSTAINED_MS. */
function longRun({ sustainedWindow, action }: DetectorInput, subject: string): StormRun | null {
  const run = sustainedWindow.stormRun(subject, action.time);
  return run !== null && action.time - run.since >= SUSTAINED_MS ? run : null;
}

/** `s`'s usual share, smoothed towards the identity's (`usual`) as if PRIOR_ACTIONS actions had been seen at it. */
function subjectUsual({ view }: DetectorInput, window: OutcomeWindow, s: string, usual: number): SubjectUsual {
  const inWindow = window.learnedOn(s);
  const learnedBad = Math.max(0, view.own(failuresKey(s)) - inWindow.bad);
  const learnedUses = Math.max(0, view.own(s) - inWindow.actions);
  return { share: (learnedBad + PRIOR_ACTIONS * usual) / (learnedUses + PRIOR_ACTIONS), learnedBad, learnedUses };
}

/**
 * The baseline key counting an action's uses of its tool, target or delegated agent (its first scope
 * item), under which its failures are learned too (`failuresKey`); null for a model call (its scope
 * items are the provider's host and zone).
 */
export function subjectKey(action: DetectorInput['action'], scope: DetectorInput['scope']): string | null {
  return scope.length > 0 && scope[0].item === action.target ? scope[0].key : null;
}

/**
 * The subject with the most failures + retries in the window (but `except`), the first seen on a tie: stable
 * while the storm goes on, so its findings fold into one alert (a tool and the target it calls fail together).
 */
function mostFailing(window: OutcomeWindow, fallback: string, except?: string): string {
  let subject = fallback;
  let most = 0;
  for (const [s, o] of window.bySubject) if (o.bad > most && s !== except) [subject, most] = [s, o.bad];
  return subject;
}

/** What a window subject names: the item of its baseline key, or the target it is. */
const nameOf = (subject: string) => subject.slice(subject.indexOf(SEP) + 1);

/**
 * `against`: the subject's own usual share (judged by subject), or, judged as a whole, the usual share of
 * the subject most failures are on when it covers them (`flaky`), and the degraded subject whose failures
 * were left out (`without`).
 */
function finding(
  input: DetectorInput,
  window: OutcomeWindow,
  j: Judged,
  subjectKey: string,
  against: { subject: SubjectUsual } | { flaky?: SubjectUsual; without?: Without },
): Finding {
  const { action, config, view } = input;
  const bySubject = 'subject' in against;
  const subject = nameOf(subjectKey);
  const short = window === input.window;
  const share = j.bad / j.actions;
  // A share is high when most of what the identity did failed; a subject's, only by its count (one
  // target failing ten times in a row is an outage as often as an attack).
  const flaky = 'flaky' in against ? against.flaky : undefined;
  const without = 'without' in against ? against.without : undefined;
  const high = flaky === undefined && ((short && j.bad >= HIGH_EVENTS) || (!bySubject && share >= 0.8));
  // A long run's storms are lowered while they stay at its level: the subject's calls and failures in the
  // short window, where credential stuffing shows at once (failures alone must also pass RUN_RISE x
  // minEvents: a slow run's storms hold a few, and a clump of ten among its usual calls is no new storm).
  const run = input.sustainedWindow.stormRun(subject, action.time);
  const long = longRun(input, subject);
  const level = input.window.subject(subjectKey);
  const { minEvents } = config.detectors.retry_storm;
  const rose = long !== null && (level.actions > RUN_RISE * long.level.actions || level.bad > RUN_RISE * Math.max(long.level.bad, minEvents));
  const lowered = !high && long !== null && !rose;
  const severity: Severity = high ? 'high' : lowered ? 'low' : 'medium';
  // The run this storm continues, or begins. Lowered storms leave its level as it was: else a loop could
  // climb in steps just under RUN_RISE, each raised at low.
  const stormRun: StormRun =
    run === null || rose ? { since: action.time, level }
    : lowered ? run
    : { since: run.since, level: { actions: Math.max(run.level.actions, level.actions), bad: Math.max(run.level.bad, level.bad) } };
  const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
  const inLast = span(Math.max(action.time - window.since, 60_000));
  const failing = new Map([...window.bySubject].filter(([, o]) => o.bad > 0).map(([s, o]) => [nameOf(s), o.bad]));
  let usualText: string;
  if ('subject' in against) {
    const { learnedBad, learnedUses, share: judged } = against.subject;
    const learnedShare = learnedUses > 0 ? learnedBad / learnedUses : null;
    // What was learned, as it is (review27 M7: the smoothed share was shown as the usual one), and what
    // it was judged against where that differs.
    usualText =
      learnedShare === null ? `It had no learned calls to ${code(subject)}, so it is judged against its usual share as a whole, ${pct(judged)}.`
      : pct(judged) === pct(learnedShare) ? `Its usual share on ${code(subject)} is ${pct(learnedShare)}.`
      : `Its usual share on ${code(subject)} is ${pct(learnedShare)} (judged against ${pct(judged)}, which blends in its share as a whole).`;
  } else {
    usualText =
      view.phase === 'peer' ? `Its peer group's usual share is ${pct(j.usual)} (it is new, so judged against its peers).`
      : `Its usual share is ${pct(j.usual)}.`;
    if (without !== undefined) {
      usualText += ` Not counting the failures of ${code(without.subject)}, whose storms have followed each other for ${span(action.time - without.since)} (a sustained degradation, raised on its own).`;
    }
    if (flaky !== undefined) {
      const learned = flaky.learnedUses > 0 ? pct(flaky.learnedBad / flaky.learnedUses) : pct(flaky.share);
      usualText += ` On ${code(subject)} alone it is ${learned}: the burst is in how often it was called.`;
    }
  }
  const explanation = bySubject
    ? `${action.identity} had ${j.bad} failures and retries in ${j.actions} calls to ${code(subject)} in the last ${inLast} (${pct(share)}), ` +
      `among ${window.actions} actions in all. ${usualText}`
    : `${action.identity} had ${j.bad} failures and retries in ${j.actions} actions in the last ${inLast} ` +
      `(${pct(share)}; ${code(subject)} ${failing.get(subject) ?? 0} of them). ${usualText}`;
  const inShort = `${level.actions} calls to ${code(subject)} and ${level.bad} failures and retries in the last ${span(input.window.length)}`;
  const runText =
    lowered ? ` Storms on ${code(subject)} have followed each other for ${span(action.time - long.since)}: a sustained degradation (a downstream failing, or a steady loop), raised at low after ${span(SUSTAINED_MS)} while they stay at its level (${inShort}).`
    : rose ? ` Storms on ${code(subject)} have followed each other for ${span(action.time - long.since)}, but this one is above them (${inShort}, where those raised at their own severity had at most ${long.level.actions} and ${long.level.bad}): raised at its own severity, as a new run.`
    : '';
  return {
    detector: 'retry_storm',
    severity,
    surprise: Math.min(0.99, cumulativeStdNormalProbability(j.z - config.detectors.retry_storm.zScore)),
    subject,
    title: `Retry storm on ${subject}`,
    explanation: explanation + runText,
    traceIds: [action.traceId],
    spanIds: [action.spanId],
    details: {
      failuresAndRetries: j.bad, actions: j.actions, share, usualShare: j.usual, zScore: j.z,
      judged: bySubject ? 'subject' : 'identity', windowMs: window.length, bySubject: Object.fromEntries(failing),
    },
    tags: ['OWASP-ASI08', 'OWASP-NHI4', 'MAESTRO-L4'],
    stormRun,
  };
}
