/**
 * A first-in-first-out queue of items that can be removed in place (`live` false), for the builder's
 * traces by age, the repair's held candidates by deadline and each identity's revocation claims. An
 * array with a moving head: shifting an array is O(n), and a removal in the middle only marks the item,
 * which the head skips when it gets there. The array is cut whenever the consumed head or the removed
 * items dominate it, so a queue that is only ever appended to and consumed never keeps what it consumed
 * (recency.ts learned that the hard way).
 */
export class FifoQueue<T extends { live: boolean }> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest live item, without taking it; removed items ahead of it are dropped. */
  first(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      if (item.live) {
        this.cutHead();
        return item;
      }
      this.head++;
    }
    this.items = [];
    this.head = 0;
    return undefined;
  }

  /** Takes the item `first` returned. */
  shift(): void {
    this.head++;
    this.cutHead();
  }

  /** Drops removed items from the middle once they are more than the `liveCount` still held (plus slack). */
  prune(liveCount: number): void {
    if (this.items.length - this.head <= 2 * liveCount + 4096) return;
    this.items = this.items.slice(this.head).filter((item) => item.live);
    this.head = 0;
  }

  /** Entries the array still holds, live or not (what its memory is). */
  get retained(): number {
    return this.items.length;
  }

  /**
   * Entries before the head are consumed but still referenced: dropped once they dominate. Both ways of
   * passing them count: taking (`shift`) and skipping removed ones (`first`); a queue whose items are
   * mostly removed in place before their turn kept every one of them (and their traces) otherwise.
   */
  private cutHead(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
