/**
 * Peer groups read back from SQLite at start (BaselineStore): their rates and history, members and
 * items; after a crash, items' users are counted again from the members' stored baselines.
 */
import type { Db } from '../src/store/database.js';
import type { Counter } from './decay.js';
import { PeerGroupBaseline } from './peer-group.js';

type Groups = Map<string, PeerGroupBaseline>;

/** The group `name` of `groups`, made empty when it does not exist yet. */
export function group(groups: Groups, name: string): PeerGroupBaseline {
  let g = groups.get(name);
  if (!g) groups.set(name, (g = new PeerGroupBaseline(name)));
  return g;
}

/** @param clean the last run wrote everything at its shutdown (no recount needed). */
export function loadPeerGroups(db: Db, clean: boolean): Groups {
  const groups: Groups = new Map();
  load(db, groups);
  if (!clean) recountUsers(db, groups);
  return groups;
}

function load(db: Db, groups: Groups): void {
  type GroupRow = { peer_group: string; body: string };
  for (const row of db.prepare('SELECT peer_group, body FROM peer_baselines').iterate() as Iterable<GroupRow>) {
    const g = group(groups, row.peer_group);
    const { outcome, history, readPeaks, pauses } = JSON.parse(row.body) as {
      outcome: PeerGroupBaseline['outcome'];
      history?: Partial<Record<string, number | null>>;
      readPeaks?: Record<string, Counter>; // since review33 M2
      pauses?: Array<[number, number]>; // since review40 H1
    };
    g.readPeaks.restore(readPeaks);
    Object.assign(g.outcome.actions, outcome.actions);
    Object.assign(g.outcome.bad, outcome.bad);
    // Infinite bounds (no action yet) are stored as null.
    g.history = { firstSeen: history?.firstSeen ?? Infinity, lastSeen: history?.lastSeen ?? -Infinity, actions: history?.actions ?? 0 };
    g.pauses = pauses ?? [];
  }
  type MemberRow = { peer_group: string; identity: string; mature: number; last_seen: number };
  for (const row of db.prepare('SELECT peer_group, identity, mature, last_seen FROM peer_members').iterate() as Iterable<MemberRow>) {
    group(groups, row.peer_group).restoreMember(row.identity, row.mature === 1, row.last_seen);
  }
  type ItemRow = { peer_group: string; item: string; users: number; adopters: string };
  for (const row of db.prepare('SELECT peer_group, item, users, adopters FROM peer_items').iterate() as Iterable<ItemRow>) {
    group(groups, row.peer_group).restoreItem(row.item, row.users, JSON.parse(row.adopters));
  }
  for (const g of groups.values()) g.markClean();
}

/**
 * Sets each group item's users to the members whose stored baseline holds it. A checkpoint writes
 * group rows at every slice and baselines a slice at a time, so a crash can leave users counted for
 * items their baselines never got to store; counted again when relearned, they would stay for good.
 */
function recountUsers(db: Db, groups: Groups): void {
  type Row = { g: string; k: string; n: number };
  const counted = new Map<string, Map<string, number>>();
  const rows = db.prepare(`
    SELECT m.peer_group AS g, c.value ->> '$[0]' AS k, count(*) AS n
    FROM peer_members m JOIN identity_baselines b ON b.identity = m.identity, json_each(b.body, '$.counters') c
    GROUP BY g, k`).iterate() as Iterable<Row>;
  for (const { g, k, n } of rows) {
    let byItem = counted.get(g);
    if (!byItem) counted.set(g, (byItem = new Map()));
    byItem.set(k, n);
  }
  for (const g of groups.values()) g.recount(counted.get(g.name) ?? new Map());
  for (const [name, byItem] of counted) if (!groups.has(name)) group(groups, name).recount(byItem);
}
