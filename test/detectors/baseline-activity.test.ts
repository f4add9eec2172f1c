/**
 * The hour-of-week profile an identity learns is what `baseline show` (and `GET /v1/identities/{id}`)
 * says of when it works: shares per weekday and per hour of the day, UTC.
 */
import { expect, it } from 'vitest';
import { activityUtc, hourOfWeek, IdentityBaseline } from '../../baselines/identity.js';

const settings = { halfLifeMs: 14 * 86_400_000, minActions: 300, minAgeMs: 86_400_000, forgetBelow: 0.05 };

it('hour 0 of the week is Monday 00:00 UTC', () => {
  expect(hourOfWeek(Date.UTC(2026, 10, 16, 0, 30))).toBe(0); // Monday 16 November 2026
  expect(hourOfWeek(Date.UTC(2026, 10, 22, 23, 59))).toBe(167); // the Sunday after
  expect(hourOfWeek(Date.UTC(1969, 11, 29, 9))).toBe(9); // a Monday before the epoch
});

it('shares the learned actions out by weekday and by hour of the day', () => {
  const b = new IdentityBaseline('spiffe://acme/agent', 'agents', Date.UTC(2026, 10, 16));
  for (let i = 0; i < 3; i++) b.learnOutcome(Date.UTC(2026, 10, 16, 9, i), false, settings); // Monday 09:00
  b.learnOutcome(Date.UTC(2026, 10, 22, 23), false, settings); // Sunday 23:00
  const { byWeekday, byHour } = activityUtc(b.hours);
  expect(byWeekday).toEqual({ Mon: 75, Tue: 0, Wed: 0, Thu: 0, Fri: 0, Sat: 0, Sun: 25 });
  expect(byHour.map((p, h) => [h, p]).filter(([, p]) => p > 0)).toEqual([[9, 75], [23, 25]]);
  expect(activityUtc(new Float64Array(168)).byHour.every((p) => p === 0)).toBe(true); // nothing learned yet
});
