import { describe, expect, it } from 'vitest';
import { ReceivingSlots } from '../../src/receiver/receiving-slots.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A call taking a ticket at once; `log` gets `admitted NAME` and `evicted NAME`. */
function call(slots: ReceivingSlots, name: string, log: string[]) {
  const ticket = slots.ticket(() => log.push(`evicted ${name}`));
  ticket.whenAdmitted(() => log.push(`admitted ${name}`));
  return ticket;
}

describe('receiving slots', () => {
  it('admits up to max; the others wait and are admitted in arrival order as slots free', () => {
    const slots = new ReceivingSlots(2, 60_000);
    const log: string[] = [];
    const [a, b] = [call(slots, 'a', log), call(slots, 'b', log)];
    const c = call(slots, 'c', log);
    call(slots, 'd', log);
    expect(log).toEqual(['admitted a', 'admitted b']);
    c.end(); // a waiting call that gives up leaves the line
    b.end();
    b.end(); // idempotent
    a.end();
    expect(log).toEqual(['admitted a', 'admitted b', 'admitted d']);
  });

  it('while calls wait, evicts a holder once it has held its slot past the limit, oldest first', async () => {
    let now = 0;
    const slots = new ReceivingSlots(2, 100, () => now);
    const log: string[] = [];
    call(slots, 'a', log);
    now = 50;
    call(slots, 'b', log);
    now = 80;
    call(slots, 'c', log); // waits: a has held for 80 of its 100
    expect(log).toEqual(['admitted a', 'admitted b']);
    now = 100;
    await sleep(150); // the timer set for a's limit
    expect(log).toEqual(['admitted a', 'admitted b', 'evicted a', 'admitted c']);
    // b is past its limit too, but nobody waits: it keeps its slot.
    now = 1000;
    await sleep(150);
    expect(log).toHaveLength(4);
    call(slots, 'd', log); // b (held 950) gives way at once; c (admitted at 100) has held 900 too, but one slot is enough
    expect(log.slice(4)).toEqual(['evicted b', 'admitted d']);
  });
});
