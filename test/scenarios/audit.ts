/**
 * Audits a scenario against CONTRACT §4 using the actions Vigil itself derives (`replay --actions`):
 * is the benign traffic really benign, and is every label really anomalous? It keeps simple per-identity
 * and per-peer-group sets (tools, targets, hosts, zones, access per target, tool transitions within a
 * trace, sensitive-read → external flows) and reports, after each identity's learning period, what was
 * new. This is the generator's self-check, so that a false alert can be told apart from a generator bug;
 * it is deliberately naive and shares nothing with Vigil's detectors.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { SCENARIO_CONFIG } from './generator.js';
import type { Label, Manifest } from './labels.js';

export interface ActionLine {
  time: string;
  identity: string;
  peerGroup: string;
  kind: string;
  target: string;
  access: string | null;
  zone: string | null;
  failed: boolean;
  retry: boolean;
  traceId: string;
  spanId: string;
}

/** What the audit found new: scope items (own baseline / own and peers'), writes, transitions, flows. */
export type FindingKind =
  | 'new-to-identity' | 'new-to-group' | 'write-where-only-read' | 'unlearned-transition' | 'unlearned-flow' | 'unlearned-xflow';

export interface Finding {
  kind: FindingKind;
  identity: string;
  time: string;
  subject: string;
  traceId: string;
}

export interface AuditResult {
  /** Findings in traces that carry no label, after the identity's learning period. */
  benign: Finding[];
  /** Per label id, the finding kinds seen in its traces (an empty list means "not anomalous by §4"). */
  labels: Map<string, Set<FindingKind>>;
}

const WINDOW_MS = 10 * 60_000;
const globRe = (g: string) => new RegExp(`^${g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
const SENSITIVE_TOOLS = SCENARIO_CONFIG.sensitive.tools.map(globRe);
const SENSITIVE_TARGETS = SCENARIO_CONFIG.sensitive.targets.map(globRe);
const SENSITIVE_ZONES = new Set<string>(SCENARIO_CONFIG.sensitive.zones);

const isDownstream = (a: ActionLine) => a.kind === 'http' || a.kind === 'db' || a.kind === 'rpc' || a.kind === 'messaging';
/** Egress: a call to an `external` host — a database there too, and a remote agent or MCP server (a tool or delegation with a zone went over the network). */
const isEgress = (a: ActionLine) => (isDownstream(a) || a.kind === 'tool' || a.kind === 'delegation') && a.zone === 'external';
const isSensitiveRead = (a: ActionLine) => a.access === 'read' && (
  (a.zone !== null && SENSITIVE_ZONES.has(a.zone)) || (a.kind === 'tool' && SENSITIVE_TOOLS.some((r) => r.test(a.target))) || SENSITIVE_TARGETS.some((r) => r.test(a.target)));
const host = (a: ActionLine) => (a.kind === 'http' ? a.target.split('/')[0] : a.target);

/** span id → parent span id, from the scenario's OTLP/JSON lines. */
export async function readParents(file: string): Promise<Map<string, string>> {
  const parents = new Map<string, string>();
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
    if (!line) continue;
    for (const rs of JSON.parse(line).resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
      if (s.parentSpanId) parents.set(s.spanId, s.parentSpanId);
    }
  }
  return parents;
}

class Seen {
  private sets = new Map<string, Set<string>>();
  has(owner: string, key: string): boolean {
    return this.sets.get(owner)?.has(key) ?? false;
  }
  add(owner: string, key: string): void {
    let s = this.sets.get(owner);
    if (!s) this.sets.set(owner, (s = new Set()));
    s.add(key);
  }
}

export function audit(actions: ActionLine[], parents: Map<string, string>, labels: Label[], manifest: Manifest): AuditResult {
  const labelOfTrace = new Map<string, string[]>();
  for (const l of labels) for (const t of l.traceIds) labelOfTrace.set(t, [...(labelOfTrace.get(t) ?? []), l.id]);
  const judgedFrom = (identity: string) => {
    const f = manifest.identityFacts[identity];
    return f ? Date.parse(f.learned) : Infinity;
  };
  const lateJoiner = (identity: string) => manifest.identityFacts[identity]?.joinedLate ?? false;

  const byTrace = new Map<string, ActionLine[]>();
  for (const a of actions) {
    if (a.kind === 'model') continue;
    let list = byTrace.get(a.traceId);
    if (!list) byTrace.set(a.traceId, (list = []));
    list.push(a);
  }
  const ms = (a: ActionLine) => Date.parse(a.time);
  const order = (x: ActionLine, y: ActionLine) => ms(x) - ms(y) || (x.spanId < y.spanId ? -1 : 1);
  const traces = [...byTrace.values()].map((list) => list.sort(order)).sort((x, y) => order(x[0], y[0]));

  const own = new Seen();
  const group = new Seen();
  const writes = new Seen();
  const recentReads = new Map<string, Array<{ at: number; target: string; traceId: string }>>();
  const result: AuditResult = { benign: [], labels: new Map(labels.map((l) => [l.id, new Set<FindingKind>()])) };

  for (const acts of traces) {
    const traceId = acts[0].traceId;
    const labelIds = labelOfTrace.get(traceId);
    const found: Finding[] = [];
    const note = (kind: FindingKind, a: ActionLine, subject: string) => found.push({ kind, identity: a.identity, time: a.time, subject, traceId });
    const judged = (a: ActionLine) => ms(a) >= judgedFrom(a.identity);
    const toolOf = new Map<string, ActionLine>();
    for (const a of acts) if (a.kind === 'tool') toolOf.set(a.spanId, a);
    const zonesOf = new Map<string, Set<string>>();
    const egressOf = new Set<string>();
    for (const a of acts) {
      if (!isDownstream(a)) continue;
      let p = parents.get(a.spanId);
      while (p && !toolOf.has(p)) p = parents.get(p);
      if (!p) continue;
      if (a.zone) zonesOf.set(p, new Set([...(zonesOf.get(p) ?? []), a.zone]));
      if (isEgress(a)) egressOf.add(p);
    }

    // Scope: tools, targets, hosts, zones; writes where only reads were seen.
    const keys = (a: ActionLine) => [`${a.kind}:${a.target}`, ...(a.kind === 'http' ? [`host:${host(a)}`] : []), ...(a.zone && isDownstream(a) ? [`zone:${a.zone}`] : [])];
    for (const a of acts) {
      if (!judged(a) || a.kind === 'delegation') continue;
      for (const k of keys(a)) {
        const byPeers = group.has(a.peerGroup, k);
        if (!own.has(a.identity, k) && (!lateJoiner(a.identity) || !byPeers)) note(byPeers ? 'new-to-identity' : 'new-to-group', a, k);
      }
      if (a.access && a.access !== 'read' && !writes.has(a.identity, `${a.kind}:${a.target}:${a.access}`) && !(lateJoiner(a.identity) && writes.has(`group:${a.peerGroup}`, `${a.kind}:${a.target}:${a.access}`))) {
        note('write-where-only-read', a, `${a.access} ${a.kind}:${a.target}`);
      }
    }

    // Transitions: the trace owner sees every tool call in it (delegated ones included); each other
    // identity sees its own. Judged only when the step leads to a write, egress or another zone.
    const owner = acts[0].identity;
    const perspectives = new Map<string, ActionLine[]>([[owner, acts.filter((a) => a.kind === 'tool' && !a.retry)]]);
    for (const a of acts) if (a.kind === 'tool' && !a.retry && a.identity !== owner) perspectives.set(a.identity, [...(perspectives.get(a.identity) ?? []), a]);
    const transitions: Array<[ActionLine, string]> = [];
    for (const [who, nodes] of perspectives) {
      const whoLine = acts.find((a) => a.identity === who)!;
      for (let i = 1; i < nodes.length; i++) {
        const [x, y] = [nodes[i - 1], nodes[i]];
        const key = `tr:${x.target}>${y.target}`;
        transitions.push([whoLine, key]);
        const zx = zonesOf.get(x.spanId) ?? new Set();
        const zy = zonesOf.get(y.spanId) ?? new Set();
        const crosses = zx.size > 0 && [...zy].some((z) => !zx.has(z));
        const alertable = (y.access !== null && y.access !== 'read') || egressOf.has(y.spanId) || crosses;
        if (alertable && ms(y) >= judgedFrom(who) && !own.has(who, key) && !group.has(whoLine.peerGroup, key)) note('unlearned-transition', { ...y, identity: who }, key.slice(3));
      }
    }

    // Flows: a sensitive read, then egress to an external host, in this trace (owner's view, however long
    // after) or in the identity's own other traces within 10 minutes. A pair met only across traces is
    // learned apart (`xflow`): it excuses pairs across traces, never a read and an egress in one trace.
    const flows: Array<[ActionLine, string]> = [];
    const reads = acts.filter(isSensitiveRead);
    const who = acts[0];
    const known = (key: string) => own.has(who.identity, key) || group.has(who.peerGroup, key);
    for (const e of acts.filter(isEgress)) {
      const inTrace = new Set(reads.filter((r) => ms(r) <= ms(e)).map((r) => r.target));
      const across = new Set<string>();
      for (const r of recentReads.get(who.identity) ?? []) if (r.traceId !== traceId && ms(e) - r.at <= WINDOW_MS && ms(e) >= r.at) across.add(r.target);
      for (const [t, cross] of [...[...inTrace].map((t) => [t, false] as const), ...[...across].filter((t) => !inTrace.has(t)).map((t) => [t, true] as const)]) {
        const pair = `${t}>${host(e)}`;
        flows.push([who, `${cross ? 'xflow' : 'flow'}:${pair}`]);
        const learned = known(`flow:${pair}`) || (cross && known(`xflow:${pair}`));
        if (ms(e) >= judgedFrom(who.identity) && !learned) note(cross ? 'unlearned-xflow' : 'unlearned-flow', { ...e, identity: who.identity }, pair);
      }
    }
    // The trace owner's reads (a delegated agent's read in its task counts as the owner's).
    for (const r of reads) {
      const list = (recentReads.get(who.identity) ?? []).filter((x) => ms(r) - x.at <= WINDOW_MS);
      list.push({ at: ms(r), target: r.target, traceId });
      recentReads.set(who.identity, list);
    }

    if (labelIds) {
      for (const id of labelIds) for (const f of found) result.labels.get(id)?.add(f.kind);
      continue; // an anomaly is never learned: a good detector does not fold alerted behaviour in
    }
    // Behaviour right after an anomaly (e.g. a benign egress within 10 minutes of an injected secret
    // read) is the anomaly's consequence, not the benign traffic's.
    result.benign.push(...found.filter((f) => !labels.some((l) => l.identity === f.identity
      && Date.parse(f.time) >= Date.parse(l.startTime) && Date.parse(f.time) <= Date.parse(l.endTime) + WINDOW_MS)));
    for (const a of acts) {
      for (const k of keys(a)) {
        own.add(a.identity, k);
        group.add(a.peerGroup, k);
      }
      if (a.access && a.access !== 'read') {
        writes.add(a.identity, `${a.kind}:${a.target}:${a.access}`);
        writes.add(`group:${a.peerGroup}`, `${a.kind}:${a.target}:${a.access}`);
      }
    }
    for (const [who, key] of [...transitions, ...flows]) {
      own.add(who.identity, key);
      group.add(who.peerGroup, key);
    }
  }
  return result;
}

/** Reads `replay --actions` output. */
export function parseActions(text: string): ActionLine[] {
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as ActionLine);
}

/** Findings grouped by kind and subject, most frequent first. */
export function summarize(findings: Finding[]): Array<{ kind: FindingKind; subject: string; count: number; identities: number }> {
  const groups = new Map<string, { kind: FindingKind; subject: string; count: number; ids: Set<string> }>();
  for (const f of findings) {
    const k = `${f.kind}|${f.subject}`;
    const g = groups.get(k) ?? { kind: f.kind, subject: f.subject, count: 0, ids: new Set<string>() };
    g.count++;
    g.ids.add(f.identity);
    groups.set(k, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count).map(({ ids, ...g }) => ({ ...g, identities: ids.size }));
}
