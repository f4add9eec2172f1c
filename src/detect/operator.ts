/**
 * What an operator does to a baseline through the API (and so `vigil baseline …`): allow items, spot
 * items that look like typos, reset an identity, show what its baseline holds.
 *
 * Separate from the engine because it answers another question: the engine judges and learns each action
 * in order, on the pipeline's thread, in event time; these run when a request arrives, and write at once
 * (a checkpoint of their own) rather than at the next group commit. An operator's allow is one of the
 * three ways a new item becomes normal (engine.ts), so it lives beside the engine, built from it.
 */
import { activityUtc } from '../../baselines/identity.js';
import type { IdentityBaseline } from '../../baselines/identity.js';
import { key, peakKey, raisedBulkKey, SEP, type DimensionItem } from '../../baselines/keys.js';
import { withoutAllowed } from '../../detectors/scope-drift.js';
import type { AlertManager } from '../alerts/manager.js';
import type { IdentityRecord, IdentityStore } from '../store/identities.js';
import type { DetectionEngine } from './engine.js';
import { ALL_SOURCES } from './read-volume.js';
import { makeView } from './view.js';

/** An allowed item counts as this many uses, so one decay step does not forget it. */
const ALLOW_WEIGHT = 5;

/** What the operator needs of the engine: its baselines, how they are judged, and how an identity is forgotten. */
type OperatedEngine = Pick<DetectionEngine, 'baselines' | 'settings' | 'phaseOf' | 'forget' | 'readVolumeOf'>;

export class BaselineOperator {
  constructor(
    private readonly engine: OperatedEngine,
    /** The engine's alert manager: an allow ends the holds it makes pointless. */
    private readonly alerts: Pick<AlertManager, 'narrowHeld' | 'namedItems'>,
    /** The identity records: a reset is marked on its record, which the identity list reads. */
    private readonly identities: Pick<IdentityStore, 'markReset'>,
  ) {}

  /**
   * An operator's allow: the items become part of the identity's baseline at once (weighted as several
   * uses, so one decay step does not forget them) and are written immediately; findings held for them
   * end. A `bulk` item makes the largest hour of the source's reads that raised a bulk read its usual
   * peak (a nightly export: review33 M3). Returns false when the identity is unknown.
   */
  allow(identity: string, items: readonly DimensionItem[]): boolean {
    const b = this.engine.baselines.known(identity);
    if (!b) return false;
    this.allowInto(b, items);
    this.engine.baselines.checkpointNow();
    return true;
  }

  /**
   * An operator's allow for every current member of a peer group, written at once: for a change the whole
   * fleet makes that is never a rollout (a failover of a sensitive database, a new Vault path: review34
   * F3), which each member would otherwise raise until allowed one by one. Returns the members it
   * reached and the items none of them has seen (as `unseen`), or null when there is no such group.
   */
  allowGroup(peerGroup: string, items: readonly DimensionItem[]): { members: number; unseen: DimensionItem[] } | null {
    const group = this.engine.baselines.knownGroup(peerGroup);
    if (!group) return null;
    const members = [...group.members.keys()];
    // Asked of every member before any is allowed: an allowed member makes the item its group's.
    let unseen = [...items];
    for (const identity of members) {
      const notSeen = new Set(this.unseen(identity, items)?.map((i) => key(i.dimension, i.item)));
      unseen = unseen.filter((i) => notSeen.has(key(i.dimension, i.item)));
    }
    for (const identity of members) {
      const b = this.engine.baselines.known(identity);
      if (b) this.allowInto(b, items);
    }
    this.engine.baselines.checkpointNow();
    return { members: members.length, unseen };
  }

  private allowInto(b: IdentityBaseline, items: readonly DimensionItem[]): void {
    const { baselines, settings } = this.engine;
    const identity = b.identity;
    const group = baselines.group(b.peerGroup);
    for (const { item } of items.filter((i) => i.dimension === 'bulk')) this.allowBulk(b, item);
    const keys = items.filter((i) => i.dimension !== 'bulk').map((i) => key(i.dimension, i.item));
    // What an operator allows is not news any more; what else a held finding names still is.
    const allowed = new Set(keys);
    this.alerts.narrowHeld(identity, (f) => withoutAllowed(f, allowed));
    for (let n = 0; n < ALLOW_WEIGHT; n++) {
      for (const created of b.learn(keys, b.lastSeen, settings)) group.learned(identity, created, b.lastSeen);
    }
  }

  /**
   * The source's bulk hour that raised: this hour's, if it raised (the hour is then learned whole when it
   * ends), else the largest remembered. It becomes the source's peak whole: reads up to 10 times it pass.
   * Those reads count among all the identity's sensitive reads too, whose peak grows by as much (else the
   * job, allowed, was raised again as `bulk:*`).
   */
  private allowBulk(b: IdentityBaseline, source: string): void {
    const { settings } = this.engine;
    const thisHour = this.engine.readVolumeOf(b.identity)?.allowRaised(source) ?? 0;
    const raised = Math.max(thisHour, b.count(raisedBulkKey(source), b.lastSeen, settings));
    if (raised === 0) return;
    b.learnPeak(peakKey(source), raised, b.lastSeen, settings, Infinity);
    if (source !== ALL_SOURCES) b.learnPeak(peakKey(ALL_SOURCES), b.count(peakKey(ALL_SOURCES), b.lastSeen, settings) + raised, b.lastSeen, settings, Infinity);
  }

  /** The identity has a baseline. */
  knows(identity: string): boolean {
    return this.engine.baselines.peek(identity) !== undefined;
  }

  /** The peer group is known. */
  knowsGroup(peerGroup: string): boolean {
    return this.engine.baselines.knownGroup(peerGroup) !== undefined;
  }

  /**
   * An operator's disallow, undoing an allow (review41 H2): the items leave the identity's baseline, learned
   * use included (their peer group stops counting it among their users), so their next use is judged as
   * new again. Written at once. Returns the items it held (the others were not in its baseline), or null
   * when the identity is unknown.
   */
  disallow(identity: string, items: readonly DimensionItem[]): DimensionItem[] | null {
    const b = this.engine.baselines.known(identity);
    if (!b) return null;
    const held = this.forgetItems(b, items);
    this.engine.baselines.checkpointNow();
    return held;
  }

  /**
   * `disallow` for every current member of a peer group, and for `others` (its identities that have gone
   * idle and left it: an allow reached them when they were members, review44 M1); the identities it
   * reached, or null when there is no such group.
   */
  disallowGroup(peerGroup: string, items: readonly DimensionItem[], others: readonly string[] = []): { members: number; held: DimensionItem[] } | null {
    const group = this.engine.baselines.knownGroup(peerGroup);
    if (!group) return null;
    const held = new Set<DimensionItem>();
    const members = [...new Set([...group.members.keys(), ...others])];
    for (const identity of members) {
      const b = this.engine.baselines.known(identity);
      if (b) for (const i of this.forgetItems(b, items)) held.add(i);
    }
    this.engine.baselines.checkpointNow();
    return { members: members.length, held: items.filter((i) => held.has(i)) };
  }

  /** Takes `items` out of the baseline, and out of its group's users (if it is a member: review44 M2) and adopters. */
  private forgetItems(b: IdentityBaseline, items: readonly DimensionItem[]): DimensionItem[] {
    const held = items.filter((i) => b.counters.delete(key(i.dimension, i.item)));
    if (held.length > 0) b.dirty = true;
    this.engine.baselines.knownGroup(b.peerGroup)?.disowned(b.identity, items.map((i) => key(i.dimension, i.item)));
    return held;
  }

  /**
   * Of `items`, those that neither the identity's baseline nor its peer group has counted, and none of
   * its alerts names (null when the identity is unknown): most likely a typo, which an allow would store
   * and never match (review21 L2). A `bulk` item is unseen when no hour of its source that raised is
   * known (none, or it decayed away, or it was this hour's before a restart): there is nothing to allow.
   */
  unseen(identity: string, items: readonly DimensionItem[]): DimensionItem[] | null {
    const { baselines, settings } = this.engine;
    const b = this.engine.baselines.known(identity);
    if (!b) return null;
    const volume = this.engine.readVolumeOf(identity);
    const noBulk = items.filter((i) => i.dimension === 'bulk' && !volume?.raisedCount(i.item) && b.count(raisedBulkKey(i.item), b.lastSeen, settings) === 0);
    const group = baselines.group(b.peerGroup);
    const unlearned = items.filter((i) => i.dimension !== 'bulk' && b.count(key(i.dimension, i.item), b.lastSeen, settings) === 0 && group.users(key(i.dimension, i.item)) === 0);
    if (unlearned.length === 0) return noBulk;
    const named = this.alerts.namedItems(identity);
    return [...noBulk, ...unlearned.filter((i) => !named.has(key(i.dimension, i.item)))];
  }

  /**
   * An operator's reset: everything the identity learned is forgotten (its counts leave its peer group
   * too) and it starts learning again from its latest action, judged against its peer group meanwhile.
   * For a baseline that may have learned what it should not have (a compromise found later). Written at
   * once; returns false when the identity is unknown.
   */
  reset(identity: string): boolean {
    const { baselines } = this.engine;
    const b = this.engine.baselines.known(identity);
    if (!b) return false;
    baselines.checkpointNow(() => {
      this.engine.forget(identity);
      baselines.identity(identity, b.peerGroup, b.lastSeen);
      this.identities.markReset(identity, b.lastSeen);
    });
    return true;
  }

  /**
   * How an identity is judged now: against itself (`own`), its peer group (`peer`), or not yet
   * (`learning`: its group has not shown enough history either). From its baseline when in memory, else
   * from its record (first and last seen, actions, and both since its last reset: what maturity is
   * measured by), so a page of a thousand identities reads no baseline from the store (review43: 0.4 s a
   * page).
   */
  phase(rec: Pick<IdentityRecord, 'identity' | 'peerGroup' | 'firstSeen' | 'lastSeen' | 'actions' | 'baselineSince' | 'actionsBefore'>): 'own' | 'peer' | 'learning' {
    const { baselines, settings } = this.engine;
    const b = baselines.inMemory(rec.identity);
    const since = Math.max(rec.firstSeen, rec.baselineSince ?? rec.firstSeen);
    const mature = b ? b.isMature(settings) : rec.actions - rec.actionsBefore >= settings.minActions && rec.lastSeen - since >= settings.minAgeMs;
    if (mature) return 'own';
    return baselines.knownGroup(b?.peerGroup ?? rec.peerGroup)?.hasBaseline(settings, rec.identity) ? 'peer' : 'learning';
  }

  /**
   * What an identity's baseline holds, for the API and CLI (`baseline show`); undefined when the identity
   * is unknown. Read without making the baseline hot: looking does not change what is kept in memory.
   */
  describe(identity: string): object | undefined {
    const b = this.engine.baselines.peek(identity);
    if (!b) return undefined;
    const group = this.engine.baselines.group(b.peerGroup);
    const view = makeView(b, group, 'own', b.lastSeen, this.engine.settings);
    const top = (d: string) => Object.fromEntries(view.top(d, 20).map(([i, c]) => [i, Math.round(c * 10) / 10]));
    return {
      identity: b.identity,
      peerGroup: b.peerGroup,
      firstSeen: new Date(b.firstSeen).toISOString(),
      lastSeen: new Date(b.lastSeen).toISOString(),
      actions: b.actions,
      phase: this.engine.phaseOf(b, group) ?? 'learning',
      usualFailureShare: view.outcome.actions > 0 ? view.outcome.bad / view.outcome.actions : 0,
      tools: top('tool'),
      targets: top('target'),
      hosts: top('host'),
      zones: top('zone'),
      scopes: top('scope'),
      agents: top('agent'),
      access: top('access'),
      activityUtc: activityUtc(b.hours), // when it works: a night-time burst from a nine-to-five agent stands out
      // Failures + retries per tool or target (`tool:crm.search`), which retry_storm judges each by its own share.
      failures: Object.fromEntries(Object.entries(top('failures')).map(([k, c]) => [k.replace(SEP, ':'), c])),
      // The busiest hour of reads of each sensitive source, decayed: scope_drift's bulk reads are 10 times it.
      sensitiveReadPeaks: top('peak'),
      // The largest hour of each source's reads that raised a bulk read: what allowing `bulk SOURCE` makes its peak.
      bulkReadsRaised: top('bulk'),
    };
  }
}
