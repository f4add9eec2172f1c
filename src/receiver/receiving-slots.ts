/**
 * Receiving slots for the gRPC receiver (grpc.ts): at most `max` calls receive their message at a time,
 * the others wait their turn in arrival order. Plain bookkeeping, no timers: the caller ends a ticket
 * when its call is done receiving, times out or is cancelled.
 */

/** A call's place in `ReceivingSlots`: admitted (holding a slot) or waiting for one, until `end`. */
export interface SlotTicket {
  whenAdmitted(admit: () => void): void;
  /** Frees its slot (or its place in the line). Idempotent. */
  end(): void;
}

/** At most `max` calls receiving at a time; the others wait in arrival order. */
export class ReceivingSlots {
  private held = 0;
  private readonly waiting = new Set<{ admit: () => void }>();

  constructor(private readonly max: number) {}

  ticket(): SlotTicket {
    let state: 'new' | 'waiting' | 'holding' | 'ended' = 'new';
    const place = { admit: () => {} };
    return {
      whenAdmitted: (admit) => {
        if (state !== 'new') return;
        if (this.held < this.max) {
          state = 'holding';
          this.held++;
          return admit();
        }
        state = 'waiting';
        place.admit = () => {
          state = 'holding';
          admit();
        };
        this.waiting.add(place);
      },
      end: () => {
        if (state === 'holding') this.release();
        else if (state === 'waiting') this.waiting.delete(place);
        state = 'ended';
      },
    };
  }

  /** A slot is free: the longest waiting call takes it. */
  private release(): void {
    const next = this.waiting.values().next();
    if (next.done) {
      this.held--;
      return;
    }
    this.waiting.delete(next.value);
    next.value.admit();
  }
}
