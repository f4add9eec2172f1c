/** Severity helpers shared by the detectors: one ordering, one way to raise a level. */
import { SEVERITIES } from '../src/config/fields.js';
import type { Severity } from '../src/config/schema.js';

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** `s` raised by `steps` levels, capped at critical. */
export function raise(s: Severity, steps = 1): Severity {
  return SEVERITIES[Math.min(SEVERITIES.length - 1, severityRank(s) + steps)];
}

/** A surprise in [0.5, 0.99] from how many times the baseline saw the context without this happening. */
export function surpriseScore(observations: number): number {
  return Math.min(0.99, 1 - 1 / (2 + observations / 10));
}

/**
 * An alert's score: its severity's band of [0, 1] (low below 0.25, critical from 0.75), and within it how
 * surprising the action was. Scores from the detectors' own scales were not comparable: a high alert
 * could score below a medium one, and every scope_drift level scored 0.98-0.99 (review27 M8), so an
 * analyst sorting by score did not get the alerts in the order that matters.
 */
export function alertScore(severity: Severity, surprise: number): number {
  const within = Math.min(0.99, Math.max(0, surprise));
  return (severityRank(severity) + within) / SEVERITIES.length;
}

/** "4,210 times" — counts as an analyst reads them. */
export function times(n: number): string {
  // A decayed count under a half (uses long ago) as it is: "0 times" denied a use that happened (review27 M2).
  if (n > 0 && n < 0.5) return `${n.toPrecision(1)} times`;
  const r = Math.round(n);
  return `${r.toLocaleString('en-US')} time${r === 1 ? '' : 's'}`;
}

/**
 * What a baseline's counts are, said after them: decayed, they are not what the logs show (review27 M1:
 * 4,210 calls over 6 days read "3,642 times"), and an older use weighs less than a recent one.
 */
export function countedNote(halfLifeMs: number): string {
  return `counting recent uses more: each halves in weight every ${span(halfLifeMs)}`;
}

/**
 * A name (tool, target, host...) as explanations quote it: in backticks, and in a longer fence with spaces
 * when it holds backticks (CommonMark), so a name cannot close its quote and write the rest of the
 * sentence (review27 L5). Control characters are escaped for the whole alert (`visible`, in buildAlert).
 */
export function code(name: string): string {
  if (!name.includes('`')) return `\`${name}\``;
  const fence = '`'.repeat(Math.max(...name.match(/`+/g)!.map((run) => run.length)) + 1);
  return `${fence} ${name} ${fence}`;
}

/**
 * `text` with control and bidirectional formatting characters shown as `\u` escapes, so a span-controlled
 * name cannot reorder what an analyst reads (U+202E made `evil\u202Etxt.exe` read "evilexe.txt").
 */
export function visible(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** "none of the 4 other identities", "the one other identity": n others of something, as a sentence has them. */
export function others(n: number, noun: string, plural = `${noun}s`): string {
  return n === 1 ? `the one other ${noun}` : `the ${n.toLocaleString('en-US')} other ${plural}`;
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
