/**
 * Operators' mutes (`mutes`): for a while, one identity's findings of one detector — on one subject, or
 * on any — raise no alert. For a false positive that has no allow (a retry storm on a target known to be
 * failing today) or cannot have one yet, short of turning the detector off for every identity (review41 M5).
 *
 * What a mute swallows is still judged, and, being a finding, still not learned (STYLE habit 3): once the
 * mute ends, the same behaviour raises again. Each mute counts what it swallowed (`muted`, `lastMutedAt`,
 * and `vigil_findings_muted_total`), so the SOC can see what it was not told. A mute ends by the wall
 * clock, at most `MAX_MUTE_MS` after it was set: a forgotten mute must not blind Vigil for good.
 *
 * A mute has a ceiling (`maxSeverity`, `high` unless the operator names `critical`): a noise muted at
 * medium that turns critical — the kind revocation rules act on — is raised (review45 M5). A mute covers
 * the findings made while it is in force, whatever time their events carry: a backfill of the same noise
 * (an exporter's buffer after an outage) is the noise the operator muted, and it is counted on the mute.
 */
import { severityRank } from '../../detectors/severity.js';
import type { Finding } from '../../detectors/types.js';
import type { Severity } from '../config/schema.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/database.js';

/** The longest a mute may last: longer is a change of baseline (an allow) or of config, not a snooze. */
export const MAX_MUTE_MS = 7 * 24 * 3_600_000;
/** Mutes in force at once: each finding is checked against its identity's, which must stay few. */
export const MAX_ACTIVE_MUTES = 1000;

export interface Mute {
  id: number;
  identity: string;
  detector: string;
  /** The alert subject muted (as alerts name it in `evidence.subject`), or null: every subject. */
  subject: string | null;
  /** The most severe finding it swallows: a more severe one raises all the same. */
  maxSeverity: Severity;
  reason: string;
  /** The client address the request came from. */
  by: string;
  createdAt: string;
  until: string;
  /** When an operator ended it early, or null. */
  endedAt: string | null;
  /** Findings it kept from being raised, and the event time of the latest. */
  muted: number;
  lastMutedAt: string | null;
}

/** A mute as stored (and kept in memory while in force): its times as unix ms. */
export type MuteRow = Pick<Mute, 'id' | 'identity' | 'detector' | 'subject' | 'reason' | 'by' | 'muted'> & {
  max_severity: Severity;
  created_at: number;
  until: number;
  ended_at: number | null;
  last_muted_at: number | null;
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class Mutes {
  /** identity -> its mutes in force (expired ones are dropped as they are met). */
  private readonly active = new Map<string, MuteRow[]>();
  private activeCount = 0;
  /** Mutes whose counts changed since the last group commit, by id (newer than their rows until written). */
  private readonly stale = new Map<number, MuteRow>();
  private readonly insert;
  private readonly updateCounts;
  private readonly endRow;
  private readonly byId;
  private readonly page;

  constructor(
    db: Db,
    private readonly wallClock: () => number,
    private readonly metrics: Metrics,
  ) {
    this.insert = db.prepare('INSERT INTO mutes (identity, detector, subject, max_severity, reason, by, created_at, until, muted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)');
    this.updateCounts = db.prepare('UPDATE mutes SET muted = ?, last_muted_at = ? WHERE id = ?');
    this.endRow = db.prepare('UPDATE mutes SET ended_at = ? WHERE id = ?');
    this.byId = db.prepare('SELECT * FROM mutes WHERE id = ?');
    this.page = db.prepare(
      `SELECT * FROM mutes WHERE id > @after AND (@identity IS NULL OR identity = @identity)
       AND (@all = 1 OR (ended_at IS NULL AND until > @now)) ORDER BY id LIMIT @limit`,
    );
    const now = wallClock();
    for (const row of db.prepare('SELECT * FROM mutes WHERE ended_at IS NULL AND until > ?').iterate(now) as Iterable<MuteRow>) this.keep(row);
  }

  /** Sets a mute lasting `forMs` from now; null when `MAX_ACTIVE_MUTES` are in force already. */
  add(m: { identity: string; detector: string; subject: string | null; maxSeverity: Severity; reason: string; by: string; forMs: number }): Mute | null {
    const now = this.wallClock();
    this.dropExpired(now);
    if (this.activeCount >= MAX_ACTIVE_MUTES) return null;
    const until = now + Math.min(m.forMs, MAX_MUTE_MS);
    const id = Number(this.insert.run(m.identity, m.detector, m.subject, m.maxSeverity, m.reason, m.by, now, until).lastInsertRowid);
    const row: MuteRow = { id, identity: m.identity, detector: m.detector, subject: m.subject, max_severity: m.maxSeverity, reason: m.reason, by: m.by, created_at: now, until, ended_at: null, muted: 0, last_muted_at: null };
    this.keep(row);
    return view(row);
  }

  /** Ends mute `id` now; null when there is no such mute, the mute as it ended otherwise (an ended one unchanged). */
  end(id: number): Mute | null {
    const stored = this.byId.get(id) as MuteRow | undefined;
    if (stored === undefined) return null;
    const row = this.current(stored);
    const now = this.wallClock();
    if (row.ended_at !== null || row.until <= now) return view(row);
    this.endRow.run(now, id);
    row.ended_at = now;
    this.forget(row);
    return view(row);
  }

  /** Mutes after `after` (an id), oldest first: in force only, unless `all`; of one identity when given. */
  list(after: number, limit: number, identity: string | null, all: boolean): Mute[] {
    const rows = this.page.all({ after, limit, identity, all: all ? 1 : 0, now: this.wallClock() }) as MuteRow[];
    return rows.map((r) => view(this.current(r)));
  }

  /**
   * True when a mute in force swallows `identity`'s finding `f`, which then raises nothing: the finding
   * (`count` uses, the latest at event time `eventTime`) is counted on the mute.
   */
  swallows(identity: string, f: Finding, eventTime: number, count = 1): boolean {
    const hit = this.muting(identity, f);
    if (hit !== undefined) this.counted(hit, f, eventTime, count);
    return hit !== undefined;
  }

  /**
   * The same in two steps, for a finding whose fate is decided in a transaction that may fail (a held
   * finding's release): `muting` says whether a mute swallows it, `counted` counts it once that committed.
   */
  muting(identity: string, f: Finding): MuteRow | undefined {
    const mutes = this.active.get(identity);
    if (mutes === undefined) return undefined;
    const now = this.wallClock();
    const hit = mutes.find(
      (r) => r.detector === f.detector && (r.subject === null || r.subject === f.subject) && severityRank(f.severity) <= severityRank(r.max_severity) && r.until > now,
    );
    if (hit === undefined && mutes.some((r) => r.until <= now)) this.dropExpired(now);
    return hit;
  }

  counted(hit: MuteRow, f: Finding, eventTime: number, count: number): void {
    hit.muted += count;
    hit.last_muted_at = Math.max(hit.last_muted_at ?? eventTime, eventTime);
    this.stale.set(hit.id, hit);
    this.metrics.findingsMuted.inc({ detector: f.detector }, count);
  }

  /** Writes the counts changed since the last commit. Call inside the group-commit transaction. */
  flush(): void {
    for (const r of this.stale.values()) this.updateCounts.run(r.muted, r.last_muted_at, r.id);
  }

  /** The group commit succeeded (`ok`): what `flush` wrote is clean; else it is written again later. */
  afterCommit(ok: boolean): void {
    if (ok) this.stale.clear();
  }

  /** The mute of stored row `r` as it stands: its counts in memory are newer until the next commit writes them. */
  private current(r: MuteRow): MuteRow {
    return this.stale.get(r.id) ?? this.active.get(r.identity)?.find((k) => k.id === r.id) ?? r;
  }

  private keep(row: MuteRow): void {
    const list = this.active.get(row.identity);
    if (list) list.push(row);
    else this.active.set(row.identity, [row]);
    this.activeCount++;
  }

  /** No longer in force (its counts, if changed, are still written by the next `flush`). */
  private forget(row: MuteRow): void {
    const list = this.active.get(row.identity);
    const at = list?.indexOf(row) ?? -1;
    if (at < 0) return;
    list!.splice(at, 1);
    if (list!.length === 0) this.active.delete(row.identity);
    this.activeCount--;
  }

  private dropExpired(now: number): void {
    for (const list of [...this.active.values()]) for (const r of [...list]) if (r.until <= now) this.forget(r);
  }
}

function view(r: MuteRow): Mute {
  return {
    id: r.id,
    identity: r.identity,
    detector: r.detector,
    subject: r.subject,
    maxSeverity: r.max_severity,
    reason: r.reason,
    by: r.by,
    createdAt: iso(r.created_at)!,
    until: iso(r.until)!,
    endedAt: iso(r.ended_at),
    muted: r.muted,
    lastMutedAt: iso(r.last_muted_at),
  };
}
