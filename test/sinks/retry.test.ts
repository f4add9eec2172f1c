/** Retry timing: full-jitter backoff bounds and Retry-After parsing (RFC 9110 §10.2.3). */
import { describe, expect, it } from 'vitest';
import { backoff, honoursRetryAfter, MAX_RETRY_AFTER_MS, parseRetryAfter, retryDelay } from '../../src/sinks/retry.js';

const policy = { retryInitial: 1000, retryMax: 60_000 };

describe('backoff', () => {
  it('draws uniformly below an exponential cap (full jitter)', () => {
    expect(backoff(1, policy, () => 0.999)).toBe(999);
    expect(backoff(3, policy, () => 0.5)).toBe(2000);
    expect(backoff(4, policy, () => 0)).toBe(0);
  });

  it('caps at retryMax however many failures', () => {
    expect(backoff(7, policy, () => 0.999)).toBe(59_940);
    expect(backoff(10_000, policy, () => 0.999)).toBe(59_940);
  });

  it('spreads retries: many draws are not all the same', () => {
    const draws = new Set(Array.from({ length: 50 }, () => backoff(5, policy)));
    expect(draws.size).toBeGreaterThan(40);
    for (const d of draws) expect(d).toBeLessThan(16_000);
  });
});

describe('retryDelay', () => {
  it('takes a Retry-After longer than the backoff', () => {
    expect(retryDelay(1, policy, 30_000, () => 0.5)).toBe(30_000);
  });

  // Regression: Retry-After: 0 (or a past date, parsed as 0) replaced the backoff, so a receiver that was
  // down was retried in a tight loop.
  it('never lets a Retry-After shorten the backoff', () => {
    expect(retryDelay(3, policy, 0, () => 0.5)).toBe(2000);
    expect(retryDelay(3, policy, 100, () => 0.5)).toBe(2000);
    expect(retryDelay(3, policy, null, () => 0.5)).toBe(2000);
  });

  it('caps what a receiver can ask for', () => {
    expect(retryDelay(1, policy, Number.POSITIVE_INFINITY, () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelay(1, policy, parseRetryAfter('9'.repeat(400), 0), () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelay(1, policy, parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', 0), () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 5, 12, 0, 0);

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
  });

  it('reads an HTTP-date, and a date in the past means now', () => {
    expect(parseRetryAfter('Mon, 05 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 05 Jan 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read, so the backoff applies', () => {
    for (const bad of [null, undefined, '', 'soon', '-5', '1.5', '2026-01-05']) expect(parseRetryAfter(bad, now)).toBeNull();
  });

  it('clamps absurd waits', () => {
    expect(parseRetryAfter('999999999', now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('is honoured on 429 and 503 only', () => {
    expect([429, 503].every(honoursRetryAfter)).toBe(true);
    expect([500, 502, 410, 400].some(honoursRetryAfter)).toBe(false);
  });
});
