/**
 * The alert feed the API reads: stored alerts in `seq` order (filtered in SQL, so a filter on a rare
 * identity does not parse every alert body), the newest stored `seq`, and the live events of the
 * AlertManager, passed on in order after this feed has noted what they change.
 *
 * Folded counts reach SQLite only at the next group commit, so a body read from the store can lag the
 * count already announced in an `update` frame; the feed remembers recent counts and applies them to what
 * it reads, so a client that catches up from the store never ends on a stale count.
 */
import type { Alert } from '../alerts/alert.js';
import type { AlertEvent } from '../alerts/manager.js';
import type { Db } from '../store/database.js';
import { severitiesFrom, type AlertFacts, type AlertFilter } from './alerts.js';
import { Lru } from '../collections/lru.js';

/** What the feed listens to: the AlertManager (its `subscribe` announces right after each commit). */
export interface AlertEventSource {
  subscribe(fn: (e: AlertEvent) => void): void;
}

type Update = Extract<AlertEvent, { type: 'update' }>['update'];

/** Entries kept per cache; old ones fall back to a store lookup. */
const CACHE_SIZE = 10_000;

/** An alert row as read for serving: its body, and its revocation's status now (none: null). */
type StoredRow = { body: string; status: string | null };
/** Selects StoredRows: the body holds the response as it was when raised, so the status is joined in. */
const SERVED = `SELECT a.body, r.status FROM alerts a LEFT JOIN revocations r ON r.id = json_extract(a.body, '$.response.revocationId')`;

/** Reads the alert store for the API and relays the AlertManager's events; one per daemon. */
export class AlertFeed {
  private readonly listeners: Array<(e: AlertEvent) => void> = [];
  private readonly counts = new Lru<{ count: number; lastEventTime: string }>(CACHE_SIZE);
  private readonly facts = new Lru<AlertFacts>(CACHE_SIZE);
  private readonly page;
  private readonly byId;
  private readonly factsBySeq;
  private newestSeq: number;

  constructor(db: Db, source: AlertEventSource) {
    // One statement for every filter combination: a null parameter switches its condition off, and the
    // json_each lists keep the statement's shape fixed whatever the number of values.
    this.page = db
      .prepare(
        `${SERVED} WHERE a.seq > @since
           AND (@identities IS NULL OR a.identity IN (SELECT value FROM json_each(@identities)))
           AND (@detectors IS NULL OR a.detector IN (SELECT value FROM json_each(@detectors)))
           AND (@severities IS NULL OR a.severity IN (SELECT value FROM json_each(@severities)))
         ORDER BY a.seq LIMIT @limit`,
      );
    this.byId = db.prepare(`${SERVED} WHERE a.id = ?`);
    this.factsBySeq = db.prepare('SELECT id, identity, detector, severity FROM alerts WHERE seq = ?');
    // The highest seq ever issued, not max(seq): retention may have deleted the newest alerts, and a
    // client resuming from one of them holds a valid cursor (AUTOINCREMENT keeps the mark and never
    // reuses a seq). max(seq) would make the stream refuse that cursor as one this store never issued.
    this.newestSeq = db
      .prepare("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'alerts'), 0), coalesce((SELECT max(seq) FROM alerts), 0))")
      .pluck()
      .get() as number;
    source.subscribe((e) => this.observe(e));
  }

  /**
   * The newest seq issued (0 when there is none): the newest stored alert's, or a later one's that
   * retention deleted. Exact: the manager announces each alert once it is committed.
   */
  get newest(): number {
    return this.newestSeq;
  }

  /** Receives every event after the feed has noted it, in the manager's order. */
  subscribe(fn: (e: AlertEvent) => void): void {
    this.listeners.push(fn);
  }

  /** Stored alerts with seq > `since` that pass `filter`, ascending, at most `limit`. */
  read(since: number, limit: number, filter: AlertFilter): Alert[] {
    const list = (values: Iterable<string> | null) => (values ? JSON.stringify([...values]) : null);
    const rows = this.page.all({
      since,
      limit,
      identities: list(filter.identities),
      detectors: list(filter.detectors),
      severities: filter.minSeverity && list(severitiesFrom(filter.minSeverity)),
    }) as StoredRow[];
    return rows.map((row) => this.served(row));
  }

  /** The stored alert `id` as it stands now, or undefined (never raised, or deleted by retention). */
  get(id: string): Alert | undefined {
    const row = this.byId.get(id) as StoredRow | undefined;
    return row && this.served(row);
  }

  /** A stored alert as served: with its revocation's current status, and its latest count. */
  private served({ body, status }: StoredRow): Alert {
    const alert = JSON.parse(body) as Alert;
    if (alert.response && status !== null) alert.response.status = status;
    const live = this.counts.get(alert.id);
    if (live && live.count > alert.count) Object.assign(alert, live);
    return alert;
  }

  /** Identity, detector and severity of the alert an update is about (for filters), or null if unknown. */
  factsOf(update: Update): AlertFacts | null {
    const cached = this.facts.get(update.id);
    if (cached) return cached;
    const row = this.factsBySeq.get(update.seq) as (AlertFacts & { id: string }) | undefined;
    if (!row || row.id !== update.id) return null;
    const facts = { identity: row.identity, detector: row.detector, severity: row.severity };
    this.facts.set(update.id, facts);
    return facts;
  }

  private observe(e: AlertEvent): void {
    if (e.type === 'alert') {
      this.newestSeq = Math.max(this.newestSeq, e.alert.seq);
      this.facts.set(e.alert.id, { identity: e.alert.identity, detector: e.alert.detector, severity: e.alert.severity });
    } else {
      this.counts.set(e.update.id, { count: e.update.count, lastEventTime: e.update.lastEventTime });
    }
    for (const fn of this.listeners) fn(e);
  }
}
