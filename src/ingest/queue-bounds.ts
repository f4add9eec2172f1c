/**
 * What the ingest queue holds, against its bounds (`ingest.queueSpans`, `ingest.queueBytes`): the
 * spans and bytes of queued exports, and the bytes of request bodies still being read, which share the
 * byte bound so uploads held open cannot pile up memory before the queue sees them.
 *
 * Small exports (the fast lane) have a sixteenth of both bounds to themselves, on top of them: a large
 * export (even one past the whole bound, admitted into an empty queue) must not lock every agent's
 * small exports out while it is processed.
 */
import type { BodyBudget } from '../receiver/read-body.js';

const FAST_LANE_RESERVE = 1 / 16;

/** One export's charge: its spans (at least 1) and bytes, and whether it went in the fast lane. */
export interface Charge {
  spans: number;
  bytes: number;
  small: boolean;
}

export class QueueBounds {
  spans = 0;
  bytes = 0;
  /** Bytes of request bodies being read (see `bodyBudget`). */
  private reading = 0;
  /** The part of `spans` and `bytes` that fast-lane exports hold. */
  private smallSpans = 0;
  private smallBytes = 0;

  constructor(
    private readonly maxSpans: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Charges an export if it fits (within the bounds, or a small one within its reserve); false when it
   * must be refused. Into an empty queue anything goes (it is bounded by receivers.otlp.maxRequestBytes),
   * or an export larger than the bound could never get in.
   */
  admit(c: Charge): boolean {
    const fits = this.spans + c.spans <= this.maxSpans && this.bytes + c.bytes <= this.maxBytes;
    const fitsReserve =
      c.small &&
      this.smallSpans + c.spans <= this.maxSpans * FAST_LANE_RESERVE &&
      this.smallBytes + c.bytes <= this.maxBytes * FAST_LANE_RESERVE;
    if (!fits && !fitsReserve && this.spans > 0) return false;
    this.spans += c.spans;
    this.bytes += c.bytes;
    if (c.small) {
      this.smallSpans += c.spans;
      this.smallBytes += c.bytes;
    }
    return true;
  }

  /** An answered (or lost) export no longer counts. */
  release(c: Charge): void {
    this.spans -= c.spans;
    this.bytes -= c.bytes;
    if (c.small) {
      this.smallSpans -= c.spans;
      this.smallBytes -= c.bytes;
    }
  }

  /**
   * A budget for one request body while it is read, shared with the queued exports' bytes. The first
   * body into an idle daemon always gets its bytes (bounded by receivers.otlp.maxRequestBytes).
   * `release` gives back what was taken (the queue then charges the body itself).
   */
  bodyBudget(): BodyBudget & { release(): void } {
    let taken = 0;
    return {
      take: (n) => {
        const used = this.reading + this.bytes;
        if (used + n > this.maxBytes && used > taken) return false;
        this.reading += n;
        taken += n;
        return true;
      },
      release: () => {
        this.reading -= taken;
        taken = 0;
      },
    };
  }
}
