/**
 * The retry windows of late actions are bounded (review29 #1): a day of 1-minute buckets of 64 subjects
 * each, kept until the identity was forgotten, cost up to 8.6 MB an identity, and a backlog replayed late
 * for every identity at once could take gigabytes.
 */
import { expect, it } from 'vitest';
import { IdentityWindows } from '../../src/detect/windows.js';

const MIN = 60_000;
const T = Date.UTC(2026, 0, 5);
const settings = { window: 5 * MIN, sustainedWindow: 60 * MIN };

it('a late window keeps an hour of buckets: a late failure a day back no longer counts', () => {
  const windows = new IdentityWindows(settings, 10 * MIN);
  const late = () => windows.lateRetry('a', windows.of('a'));
  late().add(T, true, 'crm.search');
  // Within the hour kept, a later late call does not flush it (review19 F11).
  late().add(T + 40 * MIN, false, 'crm.search');
  expect(late().add(T + MIN, true, 'crm.search').short.bad).toBe(2);
  // A day of late calls, one a minute: the oldest buckets go.
  for (let m = 60; m < 24 * 60; m++) late().add(T + m * MIN, false, 'crm.search');
  expect(late().add(T + MIN, true, 'crm.search').short.bad).toBe(1);
});

it('a late bucket counts 16 subjects one by one, the rest towards the whole', () => {
  const windows = new IdentityWindows(settings, 10 * MIN);
  const late = windows.lateRetry('a', windows.of('a'));
  for (let i = 0; i < 20; i++) late.add(T, true, `target-${i}`);
  expect(late.short.bad).toBe(20);
  expect(late.short.bySubject.size).toBe(16);
});

it('only the 2,000 identities most recently late keep late windows', () => {
  const windows = new IdentityWindows(settings, 10 * MIN);
  const lateOf = (id: string) => windows.lateRetry(id, windows.of(id));
  lateOf('first').add(T, true, 'x');
  lateOf('kept').add(T, true, 'x');
  for (let i = 0; i < 1_998; i++) lateOf(`other-${i}`).add(T, true, 'x');
  lateOf('kept').add(T, true, 'x'); // late again: now among the most recent
  lateOf('one-more').add(T, true, 'x'); // the 2,001st: the least recently late identity's go
  expect(lateOf('kept').add(T, true, 'x').short.bad).toBe(3);
  expect(lateOf('first').add(T, true, 'x').short.bad).toBe(1);
});
