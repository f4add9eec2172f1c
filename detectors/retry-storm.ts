/**
 * retry_storm: failures and retries burst far above the identity's own usual share (runaway loops,
 * credential stuffing, probing). Judged as a share, not a rate, so a burst of 5x the usual traffic with
 * the usual mix is quiet, an identity with a flaky downstream (a high usual share) is quiet, and a quiet
 * identity's small sustained loop is loud. The subject is the tool or target failing most in the window.
 */
import { cumulativeStdNormalProbability } from 'simple-statistics';
import type { Severity } from '../src/config/schema.js';
import { span } from './severity.js';
import type { Detector, DetectorInput, Finding } from './types.js';

/**
 * Prior for the usual share of failures + retries: as if 50 actions with one bad had been seen, so a
 * short or spotless history does not make a single failure look like a storm.
 */
const PRIOR_ACTIONS = 50;
const PRIOR_BAD = 1;

export const retryStorm: Detector = {
  id: 'retry_storm',
  evaluate({ action, view, window, config }: DetectorInput): Finding | null {
    if (!action.failed && !action.retry) return null;
    const settings = config.detectors.retry_storm;
    const { actions: n, bad } = window;
    if (bad < settings.minEvents) return null;

    // The usual share, without this window: its first failures were learned before the storm was one,
    // and judging a storm against a baseline that already contains it would let it hide itself.
    const learnedBad = Math.max(0, view.outcome.bad - bad);
    const learnedActions = Math.max(0, view.outcome.actions - n);
    const usual = (learnedBad + PRIOR_BAD) / (learnedActions + PRIOR_ACTIONS);
    const share = bad / n;
    if (share < 2 * usual) return null;
    const z = (bad - n * usual) / Math.sqrt(n * usual * (1 - usual));
    if (z < settings.zScore) return null;

    let subject = action.target;
    let most = 0;
    for (const [s, count] of window.badBySubject) if (count > most) [subject, most] = [s, count];
    const severity: Severity = bad >= 50 || share >= 0.8 ? 'high' : 'medium';
    const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
    return {
      detector: 'retry_storm',
      severity,
      score: Math.min(0.99, cumulativeStdNormalProbability(z - settings.zScore)),
      subject,
      title: `Retry storm on ${subject}`,
      explanation:
        `${action.identity} had ${bad} failures and retries in ${n} actions within ${span(Math.max(action.time - window.since, 60_000))} ` +
        `(${pct(share)}; \`${subject}\` ${most} of them). Its usual share is ${pct(usual)}.`,
      traceIds: [action.traceId],
      spanIds: [action.spanId],
      details: { failuresAndRetries: bad, actions: n, share, usualShare: usual, zScore: z, bySubject: Object.fromEntries(window.badBySubject) },
      tags: ['OWASP-ASI08', 'OWASP-NHI4', 'MAESTRO-L4'],
    };
  },
};
