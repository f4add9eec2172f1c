/**
 * Least-recently-touched order, for bounds that drop the least recently used first: the builder's trace
 * buffer, the emitted-trace memory, retry state per identity, revocation owners and the detectors' step
 * history. Why not a `Map` with delete-and-re-insert: V8 leaves a hole per deleted
 * entry until it rehashes, and every new iterator starts at the front, so "look at the oldest" after many
 * deletes walks thousands of holes (it was a fifth of the builder's time). Here a touch appends an entry
 * stamped with the item's new `seq`; older entries for the same item become stale and are skipped when
 * they reach the head. (fifo.ts is the same array with a head, for items that are never touched again.)
 */

/** Something kept in recency order. `seq` is owned by the queue; `live` false means removed. */
export interface Recent {
  seq: number;
  live: boolean;
}

/** Items in least-recently-touched order with O(1) amortised touch and oldest. */
export class RecencyQueue<T extends Recent> {
  private items: T[] = [];
  private seqs: number[] = [];
  private head = 0;
  private next = 0;

  /** Marks `item` as just touched (moves it to the back). */
  touch(item: T): void {
    item.seq = ++this.next;
    this.items.push(item);
    this.seqs.push(item.seq);
  }

  /** The least recently touched live item, or undefined. */
  oldest(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      if (item.live && item.seq === this.seqs[this.head]) return item;
      this.head++;
    }
    this.compact();
    return undefined;
  }

  private compact(): void {
    this.items = [];
    this.seqs = [];
    this.head = 0;
  }

  /**
   * Bounds the queue to about twice the live items: call with the live count after removals. Stale
   * entries in the middle (items touched again, or removed) are filtered out when they dominate.
   */
  maintain(liveCount: number): void {
    // Entries before `head` are dead but still referenced by the array: drop them once they dominate,
    // or a queue that is only ever appended to and popped from the front keeps every item forever
    // (it did: the emitted-trace memory grew without bound under sustained load).
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    if (this.items.length - this.head <= 2 * liveCount + 4096) return;
    const items: T[] = [];
    const seqs: number[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item.live && item.seq === this.seqs[i]) {
        items.push(item);
        seqs.push(this.seqs[i]);
      }
    }
    this.items = items;
    this.seqs = seqs;
    this.head = 0;
  }
}
