/** The queue behind the builder's traces by age and the repair's held candidates (src/collections/fifo.ts). */
import { describe, expect, it } from 'vitest';
import { FifoQueue } from '../../src/collections/fifo.js';

interface Item { id: number; live: boolean }
const item = (id: number): Item => ({ id, live: true });

/** Takes everything left, oldest first. */
function drain(q: FifoQueue<Item>): number[] {
  const out: number[] = [];
  for (let it = q.first(); it !== undefined; it = q.first()) {
    q.shift();
    out.push(it.id);
  }
  return out;
}

describe('FifoQueue', () => {
  it('gives live items oldest first and skips removed ones wherever they are', () => {
    const q = new FifoQueue<Item>();
    const items = [1, 2, 3, 4, 5].map(item);
    for (const it of items) q.push(it);
    items[0].live = false;
    items[2].live = false;
    expect(q.first()?.id).toBe(2);
    expect(q.first()?.id).toBe(2); // first() does not take
    expect(drain(q)).toEqual([2, 4, 5]);
    expect(q.first()).toBeUndefined();
  });

  it('keeps its order through long use, cuts and prunes (100,000 items through it)', () => {
    const q = new FifoQueue<Item>();
    let next = 0;
    let held: Item[] = [];
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 500; i++) {
        const it = item(next++);
        q.push(it);
        held.push(it);
      }
      // Remove every third from the middle, then take the oldest 300 live ones.
      for (let i = 0; i < held.length; i += 3) held[i].live = false;
      held = held.filter((h) => h.live);
      const taken: Item[] = [];
      for (let k = 0; k < 300 && q.first() !== undefined; k++) {
        taken.push(q.first()!);
        q.shift();
      }
      if (taken.some((t, k) => t !== held[k])) throw new Error(`round ${round}: out of order`);
      for (const t of taken) t.live = false;
      held = held.slice(taken.length);
      q.prune(held.length);
    }
    expect(held.length).toBeGreaterThan(0);
    expect(drain(q)).toEqual(held.map((h) => h.id));
  });

  it('does not keep items removed in place before their turn, though none is ever taken (the builder\'s traces)', () => {
    // Regression: only taking cut the consumed head, so a queue whose items all left by another way
    // (a trace emitted complete long before its age limit) held every one of them (+470 MB in the bench).
    const q = new FifoQueue<Item>();
    let live: Item[] = [];
    for (let i = 0; i < 100_000; i++) {
      const it = item(i);
      q.push(it);
      live.push(it);
      if (live.length > 100) {
        for (const old of live.slice(0, 50)) old.live = false;
        live = live.slice(50);
      }
      if (i % 64 === 0) {
        q.first(); // looks at the oldest, takes nothing
        q.prune(live.length);
      }
    }
    expect(q.retained).toBeLessThan(10_000);
    expect(drain(q)).toEqual(live.map((h) => h.id));
  });
});
