/** The BaselineView's reading of an upgraded baseline: when its failures per subject are trusted (review26 H1). */
import { expect, it } from 'vitest';
import { IdentityBaseline } from '../../baselines/identity.js';
import { PeerGroupBaseline } from '../../baselines/peer-group.js';
import { makeView } from '../../src/detect/view.js';

const DAY = 86_400_000;
const settings = { halfLifeMs: 14 * DAY, minActions: 300, minAgeMs: DAY, forgetBelow: 0.05 };
const T = Date.UTC(2026, 0, 5);

it('counts failures per subject from the start for a new baseline, and three half-lives after an upgrade', () => {
  const fresh = new IdentityBaseline('a', 'g', T, T);
  expect(makeView(fresh, new PeerGroupBaseline('g'), 'own', T, settings).failuresBySubject).toBe(true);

  // A v: 1 body that learned failures but holds no per-subject failure counter: from before they were counted.
  const stored = JSON.parse(JSON.stringify(fresh));
  delete stored.subjectFailuresFrom;
  stored.outcome.bad.c = 3;
  stored.counters = [['target\u0000sso/login', 40, T, T]];
  const upgraded = IdentityBaseline.fromJSON('a', { ...stored, v: 1, lastSeen: T + DAY });
  expect(upgraded.subjectFailuresFrom).toBe(T + DAY);
  const at = (days: number) => makeView(upgraded, new PeerGroupBaseline('g'), 'own', T + DAY + days * DAY, settings).failuresBySubject;
  expect(at(41)).toBe(false);
  expect(at(42)).toBe(true);
  // A v: 1 body holding one did count them (a later version), and so did one that never failed.
  const counted = { ...stored, v: 1, counters: [...stored.counters, ['failures\u0000target\u0000sso/login', 9, T, T]] };
  expect(IdentityBaseline.fromJSON('a', counted).subjectFailuresFrom).toBe(Number.NEGATIVE_INFINITY);
  expect(IdentityBaseline.fromJSON('a', { ...stored, v: 1, outcome: fresh.outcome }).subjectFailuresFrom).toBe(Number.NEGATIVE_INFINITY);
  // Kept across stores and loads (v: 2).
  expect(IdentityBaseline.fromJSON('a', JSON.parse(JSON.stringify(upgraded))).subjectFailuresFrom).toBe(T + DAY);
  expect(IdentityBaseline.fromJSON('a', JSON.parse(JSON.stringify(fresh))).subjectFailuresFrom).toBe(Number.NEGATIVE_INFINITY);
});
