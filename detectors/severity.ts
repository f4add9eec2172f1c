/** Severity helpers shared by the detectors: one ordering, one way to raise a level. */
import { SEVERITIES, type Severity } from '../src/config/schema.js';

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** `s` raised by `steps` levels, capped at critical. */
export function raise(s: Severity, steps = 1): Severity {
  return SEVERITIES[Math.min(SEVERITIES.length - 1, severityRank(s) + steps)];
}

/** A score in [0,1] from how many times the baseline saw the context without this happening. */
export function surpriseScore(observations: number): number {
  return Math.min(0.99, 1 - 1 / (2 + observations / 10));
}

/** "4,210 times" — counts as an analyst reads them. */
export function times(n: number): string {
  const r = Math.round(n);
  return `${r.toLocaleString('en-US')} time${r === 1 ? '' : 's'}`;
}

/** "6 days", "5 hours": an event-time span as an analyst reads it. */
export function span(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours >= 48) return `${Math.round(hours / 24)} days`;
  if (hours >= 2) return `${Math.round(hours)} hours`;
  const minutes = Math.round(ms / 60_000);
  if (minutes >= 1) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const seconds = Math.round(ms / 1000);
  return seconds < 1 ? 'less than a second' : `${seconds} second${seconds === 1 ? '' : 's'}`;
}
