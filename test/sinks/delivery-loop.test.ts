/**
 * DeliveryLoop's lane health on its own, with a fake clock: one job failing alone is that job's trouble;
 * two different jobs failing make the receiver's, and only then is the lane paused, its backoff counted
 * from there.
 */
import { expect, it } from 'vitest';
import { DeliveryLoop, type Lane, type LaneVerdict } from '../../src/sinks/delivery-loop.js';

it('pauses a lane once two different jobs failed, sized by the failures since then', async () => {
  const policy = { retryInitial: 1_000_000, retryMax: 1_000_000_000 }; // wide: a random pause of 0 is one in a million
  const clock = 1_000_000;
  const loop = new DeliveryLoop<string>({ policy, concurrency: 4, now: () => clock, pollMs: 5, onError: () => {} });
  const queued: string[] = [];
  const attempted: string[] = [];
  const lane: Lane<string> = {
    name: 'receiver',
    key: (job) => job,
    due: (limit, _now, busy) => queued.splice(0).filter((j) => !busy.has(j)).slice(0, limit),
    attempt: async (job): Promise<LaneVerdict> => {
      attempted.push(job);
      return { kind: 'failing', retryAfterMs: null };
    },
  };
  loop.addLane(lane);
  const attempt = async (job: string) => {
    const before = attempted.length;
    queued.push(job);
    loop.kick();
    for (let i = 0; i < 200 && attempted.length === before; i++) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 5)); // its outcome settled
  };
  const pausedUntil = () => (loop as unknown as { lanes: Map<string, { pausedUntil: number }> }).lanes.get('receiver')!.pausedUntil;
  try {
    for (let i = 0; i < 10; i++) await attempt('refused-alone');
    expect(attempted).toHaveLength(10);
    expect(pausedUntil()).toBe(0);
    await attempt('another');
    // Failing now, paused as after its first failure (up to retryInitial), not after eleven (up to retryMax).
    expect(pausedUntil()).toBeGreaterThan(0);
    expect(pausedUntil() - clock).toBeLessThanOrEqual(policy.retryInitial);
    queued.push('held back');
    loop.kick();
    await new Promise((r) => setTimeout(r, 50));
    expect(attempted).not.toContain('held back');
  } finally {
    await loop.close();
  }
});

it('reports a fault of the lane itself (a store refusing writes) once until an attempt succeeds again (review35 L1)', async () => {
  let clock = 1_000_000;
  const reported: string[] = [];
  const loop = new DeliveryLoop<string>({ policy: { retryInitial: 10, retryMax: 100 }, concurrency: 1, now: () => clock, pollMs: 5, onError: (err) => reported.push((err as Error).message) });
  let storeFull = true;
  let attempts = 0;
  const lane: Lane<string> = {
    name: 'receiver',
    key: (job) => job,
    due: () => ['alert-1'],
    attempt: async (): Promise<LaneVerdict> => {
      attempts++;
      if (storeFull) throw new Error('database or disk is full');
      return { kind: 'healthy' };
    },
  };
  loop.addLane(lane);
  const attemptsPast = async (n: number) => {
    for (let i = 0; i < 500 && attempts < n; i++) {
      clock += 1_000; // past any pause
      loop.kick();
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  try {
    await attemptsPast(6);
    expect(reported).toEqual(['database or disk is full']);
    storeFull = false;
    await attemptsPast(attempts + 2);
    storeFull = true;
    await attemptsPast(attempts + 3);
    expect(reported).toEqual(['database or disk is full', 'database or disk is full']);
  } finally {
    await loop.close();
  }
});
