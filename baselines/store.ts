/**
 * Where baselines live: a bounded set of hot identity baselines in memory, every identity in SQLite.
 * A cold identity is loaded on its next action, so memory stays bounded however many identities a fleet
 * has (`baselines.maxHotIdentities`). Peer groups are few and stay in memory.
 *
 * Durability: dirty baselines are written at each checkpoint (`baselines.checkpointInterval`) and when
 * evicted, so a `kill -9` loses at most one interval of *learning* — never an alert, which is committed
 * before the export that raised it is acknowledged.
 */
import type { Db } from '../src/store/database.js';
import { IdentityBaseline } from './identity.js';
import { PeerGroupBaseline } from './peer-group.js';

interface Hot {
  baseline: IdentityBaseline;
  used: boolean;
}

export class BaselineStore {
  private readonly hot = new Map<string, Hot>();
  private readonly groups = new Map<string, PeerGroupBaseline>();
  private readonly selectIdentity;
  private readonly upsertIdentity;
  private readonly upsertGroup;

  constructor(private readonly db: Db, private readonly maxHot: number) {
    this.selectIdentity = db.prepare('SELECT body FROM identity_baselines WHERE identity = ?').pluck();
    this.upsertIdentity = db.prepare(
      'INSERT INTO identity_baselines (identity, peer_group, body) VALUES (?, ?, ?) ON CONFLICT(identity) DO UPDATE SET peer_group = excluded.peer_group, body = excluded.body',
    );
    this.upsertGroup = db.prepare(
      'INSERT INTO peer_baselines (peer_group, body) VALUES (?, ?) ON CONFLICT(peer_group) DO UPDATE SET body = excluded.body',
    );
    for (const row of db.prepare('SELECT peer_group, body FROM peer_baselines').iterate() as Iterable<{ peer_group: string; body: string }>) {
      this.groups.set(row.peer_group, PeerGroupBaseline.fromJSON(row.peer_group, JSON.parse(row.body)));
    }
  }

  /** The identity's baseline: hot, else loaded from SQLite, else new (first seen at `time`). */
  identity(identity: string, peerGroup: string, time: number): IdentityBaseline {
    const h = this.hot.get(identity);
    if (h) {
      h.used = true;
      return h.baseline;
    }
    const body = this.selectIdentity.get(identity) as string | undefined;
    const baseline = body ? IdentityBaseline.fromJSON(identity, JSON.parse(body)) : new IdentityBaseline(identity, peerGroup, time, time);
    if (!body) baseline.dirty = true;
    this.hot.set(identity, { baseline, used: true });
    if (this.hot.size > this.maxHot) this.evict();
    return baseline;
  }

  /** Reads a baseline without making it hot (API and CLI lookups). */
  peek(identity: string): IdentityBaseline | undefined {
    const h = this.hot.get(identity);
    if (h) return h.baseline;
    const body = this.selectIdentity.get(identity) as string | undefined;
    return body ? IdentityBaseline.fromJSON(identity, JSON.parse(body)) : undefined;
  }

  group(name: string): PeerGroupBaseline {
    let g = this.groups.get(name);
    if (!g) this.groups.set(name, (g = new PeerGroupBaseline(name)));
    return g;
  }

  get hotCount(): number {
    return this.hot.size;
  }

  /** Second-chance eviction of a tenth of the hot set: recently used baselines get another round. */
  private evict(): void {
    const target = Math.floor(this.maxHot * 0.9);
    const save = this.db.transaction((evicted: IdentityBaseline[]) => evicted.forEach((b) => this.save(b)));
    const evicted: IdentityBaseline[] = [];
    for (const [id, h] of this.hot) {
      if (this.hot.size <= target) break;
      this.hot.delete(id);
      if (h.used) {
        h.used = false;
        this.hot.set(id, h); // to the back of the queue
      } else if (h.baseline.dirty) evicted.push(h.baseline);
    }
    save(evicted);
  }

  private save(b: IdentityBaseline): void {
    this.upsertIdentity.run(b.identity, b.peerGroup, JSON.stringify(b));
    b.dirty = false;
  }

  /**
   * Writes dirty baselines and peer groups, at most `limit` identity baselines (the rest at the next
   * call). Call inside a transaction. A bounded slice per commit keeps one commit from stalling the
   * event loop (serialising every dirty baseline at once took ~50 ms under load).
   */
  checkpoint(limit = Infinity): number {
    let n = 0;
    for (const h of this.hot.values()) {
      if (n >= limit) break;
      if (h.baseline.dirty) {
        this.save(h.baseline);
        n++;
      }
    }
    for (const g of this.groups.values()) {
      if (g.dirty) {
        this.upsertGroup.run(g.name, JSON.stringify(g));
        g.dirty = false;
        n++;
      }
    }
    return n;
  }
}
