/**
 * One alert-stream websocket client: catch-up from the store, then live frames, each alert exactly once
 * and in `seq` order; a bounded queue so a slow reader costs a bounded amount of memory and never slows
 * the pipeline.
 *
 * Exactly once, without a gap: while catching up the client ignores live `alert` events and pages the
 * store instead. Every announced alert is already committed (the AlertManager announces after the
 * commit), so the store read covers it. The read that comes back short and the switch to live happen in
 * one synchronous turn, so no alert can be committed between the end of the backlog and the first live
 * frame. `update` and `revocation` events are not in the store: they are held while catching up (updates
 * coalesced per alert, the latest count wins) and sent right after the backlog.
 *
 * Backpressure: live events only enqueue (cheap, synchronous, inside the AlertManager's announcement);
 * writes happen later, while the socket buffers less than `highWaterBytes`. Backlog pages are read only
 * when the socket has drained, so catching up holds about one page in memory whatever the backlog.
 * Past `maxQueuedFrames` or `maxQueuedBytes` of live frames the client is closed with 4008 and the last
 * `seq` it was sent, from which it resumes with `since=` and loses nothing.
 */
import WebSocket from 'ws';
import type { Alert } from '../alerts/alert.js';
import type { AlertFeed } from './alert-feed.js';
import { isOpenFilter, matchesAlert, matchesRevocation, type AlertFacts, type AlertFilter } from './alerts.js';

/** Per-client buffer limits (defaults in stream.ts `STREAM_DEFAULTS`). */
export interface ClientLimits {
  /** Live frames waiting in a client's queue past which it is closed as too slow. */
  maxQueuedFrames: number;
  /** Bytes (queued here plus buffered in the socket) past which it is closed as too slow. */
  maxQueuedBytes: number;
  /** Bytes buffered in the socket above which writing pauses until it drains. */
  highWaterBytes: number;
  /** Stored alerts read per page while catching up. */
  pageSize: number;
}

/** Close code for a client that fell too far behind (4000–4999: application codes; 4008 echoes HTTP 408). */
const SLOW_CLOSE_CODE = 4008;
/** Close code at daemon shutdown ("going away"). */
const SHUTDOWN_CLOSE_CODE = 1001;

/** A serialized frame; `seq` is the alert's for `alert` frames, 0 for the others. */
interface Frame {
  text: string;
  seq: number;
}

/** What a client needs: its socket, the feed it reads, its query, its limits. */
export interface StreamClientDeps {
  ws: WebSocket;
  feed: AlertFeed;
  filter: AlertFilter;
  /**
   * Resume cursor, null for live alerts only. At most the feed's newest seq (the hub refuses a later one,
   * alerts.ts checkCursor): live alerts at or below the cursor are dropped as already read.
   */
  since: number | null;
  limits: ClientLimits;
  /** Called once when the client is closed for being too slow (metrics, log). */
  onSlow(delivered: number): void;
}

/** One connected websocket: the state machine catching up -> live -> closed described above. */
export class StreamClient {
  private readonly ws: WebSocket;
  private readonly filter: AlertFilter;
  private queue: Frame[] = [];
  private queuedBytes = 0;
  /** Every stored alert up to here has been read and, when it matched, queued. */
  private cursor: number;
  /** The last alert seq handed to the socket: the `since` a resumed client passes. */
  private delivered: number;
  private catchingUp: boolean;
  /** Live updates (keyed by alert, coalesced) and revocations that arrived while catching up. */
  private readonly held = new Map<string, Frame>();
  private revocationKeys = 0;
  private pumpScheduled = false;
  private closed = false;

  constructor(private readonly deps: StreamClientDeps) {
    this.ws = deps.ws;
    this.filter = deps.filter;
    this.cursor = deps.since ?? deps.feed.newest;
    this.delivered = this.cursor;
    this.catchingUp = deps.since !== null;
    if (this.catchingUp) this.schedulePump();
  }

  /** The last alert seq handed to the socket. */
  get lastDelivered(): number {
    return this.delivered;
  }

  /** A live alert (`text`: its frame, serialized once for every client). */
  offerAlert(alert: Alert, text: string): void {
    // While catching up the store read covers it; `<= cursor` guards against an alert announced twice.
    if (this.closed || this.catchingUp || alert.seq <= this.cursor) return;
    this.cursor = alert.seq;
    if (matchesAlert(this.filter, alert)) this.enqueue({ text, seq: alert.seq });
  }

  /** `facts` describe the alert the update is about (null when unknown: only an unfiltered client gets it). */
  offerUpdate(id: string, facts: AlertFacts | null, text: string): void {
    if (this.closed) return;
    if (!isOpenFilter(this.filter) && (!facts || !matchesAlert(this.filter, facts))) return;
    this.live(`u:${id}`, { text, seq: 0 });
  }

  /** A revocation state change; only `identity=` filters it. */
  offerRevocation(revocation: unknown, text: string): void {
    if (this.closed || !matchesRevocation(this.filter, revocation)) return;
    this.live(`r:${++this.revocationKeys}`, { text, seq: 0 });
  }

  /**
   * Only to clients that are live: queued after every alert up to the newest seq, so when a client reads
   * heartbeat N it has been sent every matching alert up to N, and N is a valid resume cursor.
   */
  heartbeat(text: string): void {
    if (!this.closed && !this.catchingUp) this.enqueue({ text, seq: 0 });
  }

  /** Sends what is queued, then closes with 1001; terminates the socket if the peer does not answer in time. */
  shutdown(graceMs: number): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    if (!this.closed) {
      // Bounded by the queue limits; a client that keeps up loses nothing that was announced to it.
      for (const f of this.queue) this.write(f);
      this.dispose();
      this.ws.close(SHUTDOWN_CLOSE_CODE, `vigil is shutting down: reconnect with since=${this.delivered}`);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.ws.terminate(), graceMs);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Drops everything queued (the socket closed). */
  dispose(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.held.clear();
  }

  private live(key: string, frame: Frame): void {
    if (!this.catchingUp) return this.enqueue(frame);
    this.held.delete(key);
    this.held.set(key, frame);
    if (this.held.size > this.deps.limits.maxQueuedFrames) this.tooSlow();
  }

  private enqueue(frame: Frame): void {
    const { maxQueuedFrames, maxQueuedBytes } = this.deps.limits;
    // String length approximates bytes (alerts are mostly ASCII); what matters is that the bound exists.
    if (this.queue.length >= maxQueuedFrames || this.queuedBytes + this.ws.bufferedAmount + frame.text.length > maxQueuedBytes) {
      return this.tooSlow();
    }
    this.push(frame);
  }

  /** Queues without the slow-consumer check: backlog pages are paced by the drain, not by the caps. */
  private push(frame: Frame): void {
    this.queue.push(frame);
    this.queuedBytes += frame.text.length;
    this.schedulePump();
  }

  private tooSlow(): void {
    if (this.closed) return;
    this.dispose();
    this.deps.onSlow(this.delivered);
    // Frames already handed to the socket arrive before the close frame (TCP keeps order), so the hint
    // is exactly the last alert the client will have seen.
    this.ws.close(SLOW_CLOSE_CODE, `slow consumer: reconnect with since=${this.delivered}`);
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    // Writing later, not inside the AlertManager's announcement, keeps socket work off the pipeline.
    setImmediate(() => this.pump());
  }

  private readonly afterWrite = (err?: Error): void => {
    if (!err && (this.queue.length > 0 || this.catchingUp)) this.schedulePump();
  };

  private pump(): void {
    this.pumpScheduled = false;
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    const { highWaterBytes } = this.deps.limits;
    let sent = 0;
    while (sent < this.queue.length && this.ws.bufferedAmount < highWaterBytes) this.write(this.queue[sent++]);
    if (sent > 0) this.queue = this.queue.slice(sent);
    // Above the high-water mark, the callback of a pending write (afterWrite) resumes the pump.
    if (this.catchingUp && this.queue.length === 0 && this.ws.bufferedAmount < highWaterBytes) this.readPage();
  }

  private write(frame: Frame): void {
    this.queuedBytes -= frame.text.length;
    this.ws.send(frame.text, this.afterWrite);
    if (frame.seq > 0) this.delivered = frame.seq;
  }

  private readPage(): void {
    const { feed, limits } = this.deps;
    const page = feed.read(this.cursor, limits.pageSize, this.filter);
    for (const alert of page) {
      this.push({ text: JSON.stringify({ type: 'alert', alert }), seq: alert.seq });
      this.cursor = alert.seq;
    }
    if (page.length === limits.pageSize) return;
    // Caught up, in the same synchronous turn as the short read: the next alert committed is announced
    // to this client live. Filtered-out alerts up to the newest were scanned too.
    this.catchingUp = false;
    this.cursor = Math.max(this.cursor, feed.newest);
    const held = [...this.held.values()];
    this.held.clear();
    for (const frame of held) this.enqueue(frame);
  }
}
