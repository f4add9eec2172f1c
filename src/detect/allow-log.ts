/**
 * The operators' allows and disallows (`operator_allows`): what was made normal, or normal no more, for
 * whom, by whom and when. An allow is written into baselines as learned use, where nothing tells it from
 * use; this record is what lets an operator list the allows and undo a wrong one (review41 H2).
 */
import type { DimensionItem } from '../../baselines/keys.js';
import type { Db } from '../store/database.js';

export interface AllowEntry {
  id: number;
  at: string;
  /** The client address the request came from. */
  by: string;
  action: 'allow' | 'disallow';
  /** Exactly one of the two: an identity's, or every member's of a peer group. */
  identity: string | null;
  peerGroup: string | null;
  items: DimensionItem[];
}

type Row = { id: number; at: number; by: string; action: 'allow' | 'disallow'; identity: string | null; peer_group: string | null; items: string };

export class AllowLog {
  private readonly insert;
  private readonly page;

  constructor(db: Db) {
    this.insert = db.prepare('INSERT INTO operator_allows (at, by, action, identity, peer_group, items) VALUES (?, ?, ?, ?, ?, ?)');
    this.page = db.prepare(
      `SELECT id, at, by, action, identity, peer_group, items FROM operator_allows
       WHERE id > @after AND (@identity IS NULL OR identity = @identity) AND (@peerGroup IS NULL OR peer_group = @peerGroup)
       ORDER BY id LIMIT @limit`,
    );
  }

  record(action: AllowEntry['action'], who: { identity: string } | { peerGroup: string }, items: readonly DimensionItem[], by: string, at = Date.now()): void {
    const identity = 'identity' in who ? who.identity : null;
    const peerGroup = 'peerGroup' in who ? who.peerGroup : null;
    this.insert.run(at, by, action, identity, peerGroup, JSON.stringify(items));
  }

  /** Entries after `after` (an id), oldest first, of one identity or peer group when given. */
  list(after: number, limit: number, only: { identity: string | null; peerGroup: string | null }): AllowEntry[] {
    const rows = this.page.all({ after, limit, ...only }) as Row[];
    return rows.map((r) => ({
      id: r.id,
      at: new Date(r.at).toISOString(),
      by: r.by,
      action: r.action,
      identity: r.identity,
      peerGroup: r.peer_group,
      items: JSON.parse(r.items) as DimensionItem[],
    }));
  }
}
