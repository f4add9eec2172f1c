/**
 * Short-lived, per-identity event-time state the detectors need beyond the baseline: the retry windows
 * (failures and retries in the last few minutes, and in the last hour, in buckets) and recent sensitive
 * reads. The reads are saved with the commits (SavedReads); the rest is not: after a restart it refills
 * within one window.
 */
import type { Finding, OutcomeWindow, SensitiveRead } from '../../detectors/types.js';
import { madeInTrace, type Action } from '../actions/types.js';
import { BUCKETS, Bucket, BucketWindow, appended, type LearnedFailures } from './buckets.js';
import { ReadVolume } from './read-volume.js';
import type { SavedReads } from './saved-reads.js';
import { SensitiveReads } from './sensitive-reads.js';

/**
 * Failures + retries in a sliding window made of BUCKETS buckets (coarse, O(1) memory per identity).
 * It is itself the OutcomeWindow the detectors read.
 */
class RetryWindow extends BucketWindow {
  private buckets: Bucket[] = [];

  protected counted(): Iterable<Bucket> {
    return this.buckets;
  }

  add(time: number, bad: boolean, subject: string): OutcomeWindow {
    const width = this.length / BUCKETS;
    let b = this.bucketAt(time);
    if (!b) {
      b = new Bucket(Math.floor(time / width) * width);
      // Kept in order of start (nearly always last), in an array sized exactly (`appended`). Once per bucket width.
      const buckets = appended(this.buckets, b);
      let at = buckets.length - 1;
      for (; at > 0 && buckets[at - 1].start > b.start; at--) buckets[at] = buckets[at - 1];
      buckets[at] = b;
      this.buckets = buckets;
    }
    b.count(bad, subject);
    const horizon = time - this.length;
    while (this.buckets.length > 0 && this.buckets[0].start + width <= horizon) this.buckets.shift();
    return this;
  }

  protected bucketAt(time: number): Bucket | undefined {
    const start = Math.floor(time / (this.length / BUCKETS)) * (this.length / BUCKETS);
    // A loop rather than `find`: no closure per action.
    for (const b of this.buckets) if (b.start === start) return b;
    return undefined;
  }

  get since(): number {
    return this.buckets[0]?.start ?? 0;
  }
}

/**
 * Buckets a late-action window keeps (an hour of 1-minute buckets at the default 5-minute window, 12 hours
 * of the sustained window's), and subjects per bucket. A day of buckets, 64 subjects each, cost up to
 * 8.6 MB an identity, kept until it was forgotten: a Collector's backlog after an outage, replayed late for
 * every identity at once, could take gigabytes (review29 #1).
 */
const LATE_BUCKETS = 60;
const LATE_SUBJECTS = 16;

/**
 * The retry window of an identity's late actions (behind it by more than `time.lateness`), in their own
 * event time. They arrive in any order, so no action's time moves the window: each counts into the
 * buckets around its own time, and the oldest buckets go only past LATE_BUCKETS (a sliding window
 * following the last late action let an attacker flush a backdated storm with one later late call
 * between its failures).
 */
class LateRetryWindow extends BucketWindow {
  /** By bucket number (event time / bucket width): whole numbers, whatever the width. */
  private readonly buckets = new Map<number, Bucket>();
  /** The bucket of the latest action added: the window ends there. */
  private at = 0;

  add(time: number, bad: boolean, subject: string): OutcomeWindow {
    const width = this.length / BUCKETS;
    const n = Math.floor(time / width);
    let b = this.buckets.get(n);
    if (!b) {
      // The oldest goes before the new one comes, so an action older than all kept still counts.
      if (this.buckets.size >= LATE_BUCKETS) this.buckets.delete(Math.min(...this.buckets.keys()));
      b = new Bucket(n * width);
      this.buckets.set(n, b);
    }
    b.count(bad, subject, LATE_SUBJECTS);
    this.at = n;
    return this;
  }

  /** The buckets of the window that ends with the latest action's, oldest first. */
  protected *counted(): Generator<Bucket> {
    for (let n = this.at - BUCKETS + 1; n <= this.at; n++) {
      const b = this.buckets.get(n);
      if (b) yield b;
    }
  }

  protected bucketAt(time: number): Bucket | undefined {
    return this.buckets.get(Math.floor(time / (this.length / BUCKETS)));
  }

  get since(): number {
    for (const b of this.counted()) return b.start;
    return this.at * (this.length / BUCKETS);
  }
}

/**
 * An identity's retry windows, fed together: the short one (`retry_storm.window`) and the sustained one
 * (`sustainedWindow`), where a loop too slow to fill the short one still adds up (CONTRACT §4: "a quiet
 * identity's small sustained loop can be a storm"). Late actions have a pair of their own (LateRetryWindow).
 */
export class RetryWindows {
  readonly short: OutcomeWindow & BucketWindow;
  readonly sustained: OutcomeWindow & BucketWindow;

  /** Live windows' late ones, made at the identity's first late action (`late`). */
  private lateOnes: RetryWindows | null = null;

  /** `live`: the identity's live windows, when these are its late ones. */
  constructor(shortMs: number, sustainedMs: number, private readonly live: RetryWindows | null = null) {
    this.short = live ? new LateRetryWindow(shortMs) : new RetryWindow(shortMs);
    this.sustained = live ? new LateRetryWindow(sustainedMs) : new RetryWindow(sustainedMs);
  }

  /**
   * The late actions' own retry windows, in their event time: theirs has left the live one, and a storm
   * backdated past time.lateness would otherwise go unjudged and teach its failures as usual. (Counted at
   * the identity's current time instead, a backfill's held calls, released together, made storms of their own.)
   */
  late(): RetryWindows {
    return (this.lateOnes ??= new RetryWindows(this.short.length, this.sustained.length, this));
  }

  /** Drops the late windows (IdentityWindows keeps MAX_LATE_WINDOWS identities' of them). */
  dropLate(): void {
    this.lateOnes = null;
  }

  /**
   * A late action still inside the live sustained window counts there too: else a loop with every other
   * failure sent late showed each window half of it (review32 M5). It is judged in the late windows only.
   * What of it is learned is kept the same in both sustained windows, so that a storm in either takes it
   * back only while it is still learned (review33 L3: a live storm took back late failures a late storm had
   * taken back already, or had raised, so never learned).
   */
  add(time: number, bad: boolean, subject: string): this {
    this.short.add(time, bad, subject);
    this.sustained.add(time, bad, subject);
    if (this.live !== null && time >= this.live.sustained.since) this.live.sustained.add(time, bad, subject);
    return this;
  }

  /**
   * A failure that raised a storm is that storm's evidence: it leaves the sustained window, so the tail of
   * a storm already raised does not make a "slow loop" of its own once its suppression window has passed.
   * The finding (`storm`) notes its subject's run of storms (`stormRun`).
   */
  raisedStorm(time: number, subject: string, storm: Finding): void {
    this.sustained.unmarkBad(time, subject);
    if (storm.stormRun) this.sustained.noteStorm(storm.subject, time, storm.stormRun);
  }

  /**
   * A storm was raised: the failures + retries learned in its windows before it was one are its evidence
   * (CONTRACT §4: what raised an alert is not folded into the baseline). Returns those of the sustained
   * window, which holds the short one's, for the baseline to take back. `subject`: a storm judged on
   * that subject alone is evidence about it alone; other subjects' failures stay learned (review32 L2).
   */
  forgetLearnedFailures(subject: string | null): LearnedFailures {
    this.short.forgetLearnedBad(subject);
    return this.sustained.forgetLearnedBad(subject, (this.live ?? this.lateOnes)?.sustained);
  }

  /** An action that raised an alert, so was not learned (`stormRaised`: its failure left the sustained window). */
  unlearned(time: number, bad: boolean, subject: string, stormRaised: boolean): void {
    this.short.unlearned(time, bad, subject);
    this.sustained.unlearned(time, bad && !stormRaised, subject);
    this.live?.sustained.unlearned(time, bad, subject); // a late storm's failure stays counted there
  }
}

/** Destination hosts whose latest external send is remembered per trace owner. */
const MAX_EGRESS_HOSTS = 32;
/** Sources a remembered send is judged against once each, when their reads come after it. */
const MAX_JUDGED_SOURCES = 8;

/** A remembered send, and the read sources already judged with it. */
interface Send {
  egress: Action;
  judged: string[];
}

/**
 * An owner's latest external send to each host (review37 F2): a sensitive read that arrives after a send it
 * preceded (exports in another order; within `time.lateness` CONTRACT §3 says "handled as if in order") is
 * judged then with the sends it precedes, as the send would have been judged had the read come first. By
 * host, so sends to hosts it always uses cannot push an exfiltration out (review39 M3); each send is judged
 * once per source, so N reads of a source cost N lookups, not N findings to merge (review39 H3).
 */
class RecentEgress {
  private readonly byHost = new Map<string, Send>();
  constructor(private readonly windowMs: number) {}

  add(egress: Action): void {
    const host = egress.host!;
    this.byHost.delete(host);
    this.byHost.set(host, { egress, judged: [] });
    if (this.byHost.size > MAX_EGRESS_HOSTS) this.byHost.delete(this.byHost.keys().next().value!);
  }

  /** The sends `read` came before (in its task however long after, else within the window) not yet judged with its source. */
  after(read: SensitiveRead): Action[] {
    const out: Action[] = [];
    for (const s of this.byHost.values()) {
      const e = s.egress;
      if (e.time < read.time || !(madeInTrace(e) === read.task || e.time - read.time <= this.windowMs)) continue;
      if (s.judged.includes(read.target) || s.judged.length >= MAX_JUDGED_SOURCES) continue;
      s.judged.push(read.target);
      out.push(e);
    }
    return out;
  }
}

/** Identities whose short-lived windows are kept; the least recently active are dropped first. */
const MAX_WINDOWS = 50_000;
/**
 * Identities whose late-action windows are kept; those least recently late are dropped first. Under a
 * backlog late for more identities than this, their late storms are counted from their latest late
 * actions only: a bound on memory (~200 MB at the worst, 60 buckets of 16 subjects in each of 2 windows).
 */
const MAX_LATE_WINDOWS = 2_000;

/** One identity's windows. */
class Windows {
  private volume: ReadVolume | null = null;
  private sends: RecentEgress | null = null;
  readonly retry: RetryWindows;
  readonly reads: SensitiveReads;

  constructor(
    retrySettings: { window: number; sustainedWindow: number },
    private readonly readsMs: number,
    /** IdentityWindows' count of lookups when this one last moved to the back of its order. */
    public touched: number,
    readsChanged: () => void,
  ) {
    this.retry = new RetryWindows(retrySettings.window, retrySettings.sustainedWindow);
    this.reads = new SensitiveReads(readsMs, readsChanged);
  }

  /** Late actions' own retry windows (RetryWindows.late). */
  lateRetry(): RetryWindows {
    return this.retry.late();
  }

  /** Sensitive reads per source this hour (made at the identity's first: most read nothing sensitive). */
  readVolume(): ReadVolume {
    return (this.volume ??= new ReadVolume());
  }

  /** External sends as the trace owner (made at the identity's first: most send nothing outside). */
  egress(): RecentEgress {
    return (this.sends ??= new RecentEgress(this.readsMs));
  }

  /** The sends a sensitive read arriving after them came before, or none. */
  sendsAfter(read: SensitiveRead): readonly Action[] {
    return this.sends === null ? [] : this.sends.after(read);
  }

  /** Drops the late windows (IdentityWindows keeps MAX_LATE_WINDOWS identities' of them). */
  dropLate(): void {
    this.retry.dropLate();
  }
}

/** The windows of the most recently active identities (MAX_WINDOWS of them). */
export class IdentityWindows {
  private readonly byIdentity = new Map<string, Windows>();
  /** The identities holding late windows, least recently late first. */
  private readonly lateHolders = new Map<string, Windows>();
  private touches = 0;
  /** Identities whose reads changed since the last commit that saved them. */
  private readonly changedReads = new Set<string>();

  constructor(
    private readonly retrySettings: { window: number; sustainedWindow: number },
    private readonly readsMs: number,
    private readonly saved: SavedReads | null = null,
  ) {}

  of(identity: string): Windows {
    let w = this.byIdentity.get(identity);
    if (w) {
      // Map order is the eviction order; re-inserting on every action costs a hole per delete, so an
      // entry only moves to the back when it has not moved for a while.
      if (this.touches - w.touched > MAX_WINDOWS / 4) {
        this.byIdentity.delete(identity);
        this.byIdentity.set(identity, w);
        w.touched = this.touches;
      }
    } else {
      w = new Windows(this.retrySettings, this.readsMs, this.touches, () => this.changedReads.add(identity));
      const body = this.saved?.load(identity);
      if (body !== undefined) w.reads.restore(body);
      if (this.byIdentity.size >= MAX_WINDOWS) this.evict(this.byIdentity.keys().next().value!);
      this.byIdentity.set(identity, w);
    }
    this.touches++;
    return w;
  }

  /** The windows of `identity` if it has any, without making it recent. */
  peek(identity: string): Windows | undefined {
    return this.byIdentity.get(identity);
  }

  /** The late windows of `identity` (its windows `w`): those of the identities least recently late go first. */
  lateRetry(identity: string, w: Windows): RetryWindows {
    // Late actions are few: moving the identity to the back at each costs little.
    if (!this.lateHolders.delete(identity) && this.lateHolders.size >= MAX_LATE_WINDOWS) {
      const [oldest, windows] = this.lateHolders.entries().next().value!;
      windows.dropLate();
      this.lateHolders.delete(oldest);
    }
    this.lateHolders.set(identity, w);
    return w.lateRetry();
  }

  /** Forgets `identity` (retention), its saved reads too. In a transaction. */
  delete(identity: string): void {
    this.byIdentity.get(identity)?.dropLate();
    this.byIdentity.delete(identity);
    this.lateHolders.delete(identity);
    this.changedReads.delete(identity);
    this.saved?.delete(identity);
  }

  /** Saves the reads that changed (SavedReads). In the commit's transaction. */
  saveReads(): void {
    if (this.saved === null) return;
    for (const identity of this.changedReads) {
      const w = this.byIdentity.get(identity);
      if (w !== undefined) this.saved.save(identity, w.reads.snapshot());
    }
  }

  /** The commit succeeded (`ok`): the reads it saved are clean; else they are saved again. */
  afterCommit(ok: boolean): void {
    if (ok) this.changedReads.clear();
  }

  /** Drops the least recently active identity's windows; reads not saved yet are saved first. */
  private evict(identity: string): void {
    if (this.changedReads.delete(identity)) this.saved?.save(identity, this.byIdentity.get(identity)!.reads.snapshot());
    this.byIdentity.delete(identity);
  }
}
