/**
 * Receiving slots for the gRPC receiver (grpc.ts): at most `max` calls receive their message at a time,
 * the others wait their turn in arrival order.
 *
 * A slot is reserved for a whole message before its bytes arrive, so a call that sends its headers and
 * then nothing costs its client nothing and blocks a slot. `max` such calls would block every export
 * until the request timeout (minutes), and the JavaScript SDK's exporter gives up after 10 s without
 * retrying. So while calls wait, a call that has held its slot for `holdLimitMs` without finishing its
 * message is evicted (`onEvicted`): an exporter sends its message as soon as it has its slot, and a
 * legitimate upload slower than that only loses its slot to others when the receiver is saturated.
 */

/** A call's place in `ReceivingSlots`: admitted (holding a slot) or waiting for one, until `end`. */
export interface SlotTicket {
  whenAdmitted(admit: () => void): void;
  /** Frees its slot (or its place in the line). Idempotent. */
  end(): void;
}

interface Holder {
  since: number;
  evict: () => void;
}

export class ReceivingSlots {
  /** Calls holding a slot, in the order they were admitted (the oldest first). */
  private readonly holders = new Set<Holder>();
  private readonly waiting = new Set<{ admit: () => void }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly max: number,
    private readonly holdLimitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A place for one call; `onEvicted` is called when it loses its slot (see the top), and its ticket ends. */
  ticket(onEvicted: () => void): SlotTicket {
    let state: 'new' | 'waiting' | 'holding' | 'ended' = 'new';
    const holder: Holder = { since: 0, evict: () => {} };
    const place = { admit: () => {} };
    const hold = (admit: () => void) => {
      state = 'holding';
      holder.since = this.now();
      this.holders.add(holder);
      admit();
    };
    const ticket: SlotTicket = {
      whenAdmitted: (admit) => {
        if (state !== 'new') return;
        if (this.holders.size < this.max) return hold(admit);
        state = 'waiting';
        place.admit = () => hold(admit);
        this.waiting.add(place);
        this.evictOverdue();
      },
      end: () => {
        if (state === 'holding') {
          this.holders.delete(holder);
          this.admitNext();
        } else if (state === 'waiting') this.waiting.delete(place);
        state = 'ended';
      },
    };
    holder.evict = () => {
      onEvicted();
      ticket.end();
    };
    return ticket;
  }

  /** A slot is free: the longest waiting call takes it. */
  private admitNext(): void {
    const next = this.waiting.values().next();
    if (next.done) return;
    this.waiting.delete(next.value);
    next.value.admit();
  }

  /** While calls wait, evicts the holders past their limit; checks again when the next one will be. */
  private evictOverdue(): void {
    const now = this.now();
    for (const h of this.holders) {
      if (this.waiting.size === 0) return;
      if (now - h.since < this.holdLimitMs) break; // holders are in admission order: the rest are newer
      h.evict();
    }
    const oldest = this.holders.values().next();
    if (this.waiting.size === 0 || oldest.done || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.evictOverdue();
    }, oldest.value.since + this.holdLimitMs - now);
    this.timer.unref();
  }
}
