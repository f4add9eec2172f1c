/**
 * Scenario generator: a deterministic fleet of agents (seeded), a week of their traces in event time
 * with the benign traps of CONTRACT §4, and labelled injected anomalies of every detector type. Writes
 * `traces.jsonl` (one OTLP ExportTraceServiceRequest per line, in event-time order), `labels.json`,
 * `config.yaml` (zones, sensitive, catalog) and `manifest.json` into a folder.
 *
 * It talks to Vigil only through those files: nothing here imports from src/, baselines/ or detectors/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CATALOGUE, NEW_INSTANCE, type Injector } from './anomalies.js';
import { ROLLOUT, roleByName, type Identity } from './fleet.js';
import type { Label, Manifest, Trap } from './labels.js';
import { encodeLine, type GenSpan, type GenTrace } from './otlp.js';
import { Rng } from './prng.js';
import { coverageWalks, taskTimes, type Burst } from './schedule.js';
import { Emitter, toStep, walk, type Step } from './tasks.js';
import { DAY, HOUR, MINUTE } from './units.js';
import { makeFleet, type Fleet } from './world.js';

export interface ScenarioOptions {
  seed: number;
  /** Simulated days (default 7). */
  days?: number;
  /** Multiplies every role's task rate (default 1.9: about 105k benign actions a week at fleetScale 1). */
  rateScale?: number;
  /** Multiplies every role's identity count (default 1: about 56 identities). */
  fleetScale?: number;
  /** Traces per OTLP request line (default 100; a line holds at most a minute of event time). */
  tracesPerLine?: number;
  /**
   * Each trace's delegated agents' spans in its line, its owner's spans two lines later: the order a
   * remote agent's exporter, whose spans end first, often gives (an experiment: `npm run eval -- --callee-first`).
   */
  calleeFirst?: boolean;
}

export interface Scenario {
  dir: string;
  tracesFile: string;
  labelsFile: string;
  configFile: string;
  manifestFile: string;
  labels: Label[];
  manifest: Manifest;
}

/** Detection is owed once an identity has this much behind it (CONTRACT §4). */
const LEARN_MS = 48 * HOUR;
const LEARN_ACTIONS = 300;
/** Anomalies on one identity are kept this far apart, so one cannot mask or fold into another. */
const ANOMALY_SPACING = 12 * HOUR;
/** Coverage walks are done in an identity's first hours; each is walked this many times. */
const COVERAGE_WINDOW = 40 * HOUR;
const COVERAGE_REPEAT = 2;

const BENIGN_ACTS = new Set(['tool', 'http', 'db', 'delegation']);

/** The first Monday used; each seed starts a different week so runs do not share timestamps. */
const BASE_MONDAY = Date.UTC(2025, 8, 1);

const iso = (ms: number) => new Date(ms).toISOString();

/** The scenario's trust zones, sensitive data and tool catalogue (CONTRACT §7 keys). */
export const SCENARIO_CONFIG = {
  zones: {
    secrets: ['vault.*'],
    payments: ['ledger.internal', 'billing-db.internal'],
    monitoring: ['*.monitoring.svc.cluster.local', 'grafana.internal'],
    internal: ['*.internal', '*.svc.cluster.local', '10.0.0.0/8'],
  },
  sensitive: {
    zones: ['secrets'],
    tools: ['*secret*', 'vault.*'],
    targets: ['crm.internal/v2/customers/*', 'postgresql/billing/customers', 'postgresql/hr/*', 'clickhouse/finance/*'],
  },
  catalog: [
    { tool: 'tickets.purge', access: 'delete' },
    { tool: 'k8s.exec', access: 'execute' },
  ],
} as const;

/** The scenario's Vigil configuration file: only the keys above, everything else Vigil's default. */
export function scenarioConfigYaml(seed: number): string {
  const list = (xs: readonly string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const c = SCENARIO_CONFIG;
  return [
    `# Written by test/scenarios/generator.ts for seed ${seed}: the trust zones, sensitive data and tool`,
    `# catalogue of the simulated fleet. Everything else is Vigil's default.`,
    `zones:`,
    ...Object.entries(c.zones).map(([zone, globs]) => `  ${zone}: ${list(globs)}`),
    `sensitive:`,
    `  zones: ${list(c.sensitive.zones)}`,
    `  tools: ${list(c.sensitive.tools)}`,
    `  targets: ${list(c.sensitive.targets)}`,
    `catalog:`,
    ...c.catalog.map((e) => `  - { tool: ${JSON.stringify(e.tool)}, access: ${JSON.stringify(e.access)} }`),
    ``,
  ].join('\n');
}

/** Event time one line of `traces.jsonl` (one export) covers at most. */
const LINE_SPAN_MS = MINUTE;

/** A pause this long between two spans of a trace means its exporter sent what came before already. */
const EXPORT_GAP_MS = MINUTE;

/**
 * A long session as its exporter sends it: spans leave when they end (the batch span processor), so the
 * steps before a long pause are exported long before the ones after it, and the root span, which ends
 * last, comes with the last part. Each part is placed in the file by its first span.
 */
function exportedParts(trace: GenTrace): GenTrace[] {
  const root = trace.spans.find((s) => s.parentSpanId === undefined)!;
  const rest = trace.spans.filter((s) => s !== root).sort((a, b) => a.startMs - b.startMs);
  const parts: GenSpan[][] = [[]];
  for (const s of rest) {
    const last = parts[parts.length - 1];
    if (last.length && s.startMs - Math.max(...last.map((x) => x.endMs)) > EXPORT_GAP_MS) parts.push([]);
    parts[parts.length - 1].push(s);
  }
  parts[parts.length - 1].push(root);
  return parts.map((spans) => ({ traceId: trace.traceId, startMs: Math.min(...spans.filter((s) => s !== root).map((s) => s.startMs)), spans }));
}

export function generateScenario(dir: string, opts: ScenarioOptions): Scenario {
  const seed = opts.seed;
  const days = opts.days ?? 7;
  const rateScale = opts.rateScale ?? 1.9;
  const perLine = opts.tracesPerLine ?? 100;
  const startMs = BASE_MONDAY + (Math.abs(seed) % 26) * 7 * DAY;
  const endMs = startMs + days * DAY;
  const at = (fraction: number, hourOfDay: number) => startMs + Math.max(2, Math.floor(fraction * days)) * DAY + hourOfDay * HOUR;

  const planRng = Rng.derive(seed, 'plan');
  const fleet: Fleet = makeFleet(planRng, opts.fleetScale ?? 1, startMs);
  const traps: Trap[] = [];

  // Late joiners: two that behave like their peers, four whose first task is an anomaly.
  const benignJoiners = [
    fleet.add(roleByName('support-agent'), at(0.5, 13) + planRng.int(0, 59) * MINUTE),
    fleet.add(roleByName('reporting-agent'), at(0.75, 10) + planRng.int(0, 59) * MINUTE),
  ];
  for (const j of benignJoiners) traps.push({ trap: 'new_instance', identity: j.id, startTime: iso(j.joinMs), endTime: iso(j.joinMs + LEARN_MS), note: 'joins mid-run, behaves like its peers' });
  const fractions = [0.55, 0.62, 0.7, 0.8];
  const badJoiners = NEW_INSTANCE.map((ni, i) => ({ ni, who: fleet.add(roleByName(ni.role), at(fractions[i], 9 + 2 * i) + planRng.int(0, 59) * MINUTE) }));
  const late = new Set([...benignJoiners, ...badJoiners.map((b) => b.who)].map((w) => w.id));

  // The rollout: most of the support group adopts a new tool within 20 minutes of a weekday morning.
  const rolloutMs = at(0.58, 10);
  const group = fleet.identities.filter((w) => w.role.role === ROLLOUT.role && w.joinMs < rolloutMs && !badJoiners.some((b) => b.who === w));
  const adopters = new Map<string, number>();
  for (const w of planRng.shuffle(group).slice(0, Math.round(group.length * ROLLOUT.adoptShare))) {
    const t = rolloutMs + planRng.int(0, 20) * MINUTE;
    adopters.set(w.id, t);
    traps.push({ trap: 'rollout', identity: w.id, startTime: iso(t), endTime: iso(endMs), note: `adopts ${ROLLOUT.tool} with most of its peer group` });
  }

  // Benign bursts: up to 5x the usual rate for an hour, same mix.
  const agents = fleet.original.filter((w) => !w.role.serves);
  const bursts: Burst[] = [];
  for (let i = 0; i < Math.max(4, Math.round(8 * (opts.fleetScale ?? 1))); i++) {
    const who = planRng.pick(agents);
    const day = planRng.int(2, days - 1);
    const s = startMs + day * DAY + planRng.int(9, 16) * HOUR;
    const b = { identity: who.id, startMs: s, endMs: s + HOUR, factor: planRng.range(3, 5) };
    bursts.push(b);
    traps.push({ trap: 'burst', identity: who.id, startTime: iso(b.startMs), endTime: iso(b.endMs), note: `${b.factor.toFixed(1)}x the usual rate, usual mix` });
  }
  for (const w of fleet.identities) if (w.flaky) traps.push({ trap: 'flaky', identity: w.id, startTime: iso(startMs), endTime: iso(endMs), note: `${Math.round(w.flaky.failRate * 100)} % of calls to ${w.flaky.host === '*' ? 'any host' : w.flaky.host} fail, retried once` });

  /** The identity's usual walk, with the rollout tool in place of the old one once it has adopted. */
  const normalSteps = (who: Identity, t: number, rng: Rng, states = walk(who.role, rng, who.role.maxSteps)): Step[] =>
    states.map((s) => {
      const adopted = adopters.get(who.id);
      if (s === ROLLOUT.replaces && adopted !== undefined && t >= adopted && rng.chance(ROLLOUT.useShare)) {
        return { t: 'tool', name: ROLLOUT.tool, endpoint: ROLLOUT.endpoint };
      }
      return toStep(s);
    });

  // Benign traffic, identity by identity, each from its own random stream.
  const traces: GenTrace[] = [];
  for (const who of fleet.identities) {
    if (who.role.serves) continue;
    const rng = Rng.derive(seed, `benign:${who.id}`);
    const from = badJoiners.some((b) => b.who === who) ? who.joinMs + 3 * MINUTE : who.joinMs;
    const times = taskTimes(rng, who.role, who.role.rate * rateScale * who.activity, from, endMs, bursts.filter((b) => b.identity === who.id));
    // Coverage walks replace the first tasks (and are added if the first hours are too quiet for them).
    const cover = rng.shuffle(Array.from({ length: COVERAGE_REPEAT }, () => coverageWalks(who.role)).flat());
    const early = times.filter((t) => t < from + COVERAGE_WINDOW).length;
    for (let i = early; i < cover.length; i++) times.push(from + rng.int(0, COVERAGE_WINDOW - 1));
    times.sort((a, b) => a - b);
    const variants = new Map<string, number>();
    times.forEach((t, i) => {
      const states = i < cover.length ? cover[i] : undefined;
      const steps = states
        ? states.map((s) => {
          // Cycle through a tool's alternative endpoints so each is seen while learning.
          const v = variants.get(s) ?? 0;
          variants.set(s, v + 1);
          return { ...normalSteps(who, t, rng, [s])[0], ...(s.startsWith('mcp:') || !who.role.tools[s] ? { variant: v } : {}) } as Step;
        })
        : normalSteps(who, t, rng);
      traces.push(new Emitter(rng, fleet, t).task(who, steps));
    });

    // Scheduled routines (cron), from the first weekday on: at each listed hour, at this identity's minute.
    const rrng = Rng.derive(seed, `routine:${who.id}`);
    for (const r of who.role.routines ?? []) {
      const minute = rrng.int(0, 9) * MINUTE;
      for (let day = Math.floor(from / DAY) * DAY; day < endMs; day += DAY) {
        const weekday = new Date(day).getUTCDay();
        if (weekday === 0 || weekday === 6) continue;
        for (const h of r.hours) {
          const t = day + h * HOUR + minute + rrng.int(0, 90_000);
          if (t < from || t >= endMs) continue;
          traces.push(new Emitter(rrng, fleet, t).task(who, r.steps.map((x) => toStep(x))));
          traps.push({ trap: 'routine', identity: who.id, startTime: iso(t), endTime: iso(t + MINUTE), note: r.note });
        }
      }
    }

    // Long sessions: a runbook of learned steps with long pauses, exported as its spans end.
    const spec = who.role.session;
    if (spec) {
      const srng = Rng.derive(seed, `session:${who.id}`);
      for (const t of taskTimes(srng, who.role, spec.rate * rateScale * who.activity, from, endMs - 3 * HOUR, [])) {
        const states: string[] = [];
        const pauses: number[] = [];
        const marks: number[] = [];
        for (const x of spec.script) {
          if (x === 'pause') marks.push(states.length - 1);
          else for (let k = x.n ? srng.int(x.n[0], x.n[1]) : 1; k > 0; k--) states.push(x.s);
        }
        const total = srng.int(spec.minutes[0], spec.minutes[1]) * MINUTE;
        const weights = marks.map(() => srng.range(0.3, 1));
        const sum = weights.reduce((a, b) => a + b, 0);
        marks.forEach((i, k) => (pauses[i] = Math.round((total * weights[k]) / sum)));
        const trace = new Emitter(srng, fleet, t).task(who, states.map((x) => toStep(x)), pauses);
        traces.push(...exportedParts(trace));
        const end = Math.max(...trace.spans.map((x) => x.endMs));
        traps.push({ trap: 'session', identity: who.id, startTime: iso(t), endTime: iso(end), note: spec.note });
      }
    }
  }

  // When each identity has 48 h and 300 actions behind it.
  const actionTimes = new Map<string, number[]>();
  for (const tr of traces) for (const s of tr.spans) {
    if (!s.act || !BENIGN_ACTS.has(s.act)) continue;
    let list = actionTimes.get(s.resource.identity);
    if (!list) actionTimes.set(s.resource.identity, (list = []));
    list.push(s.startMs);
  }
  for (const list of actionTimes.values()) list.sort((a, b) => a - b);
  const learnedAt = (who: Identity): number => {
    const list = actionTimes.get(who.id) ?? [];
    if (list.length < LEARN_ACTIONS) return Infinity;
    return Math.max(list[0] + LEARN_MS, list[LEARN_ACTIONS - 1]);
  };
  for (const who of fleet.original) {
    const list = actionTimes.get(who.id);
    if (list?.length) traps.push({ trap: 'warmup', identity: who.id, startTime: iso(list[0]), endTime: iso(Math.min(learnedAt(who), endMs)), note: 'learning period of the original fleet' });
  }

  // Anomalies.
  const labels: Label[] = [];
  const anomRng = Rng.derive(seed, 'anomalies');
  const busy = new Map<string, number[]>();
  const injector = (marks: Emitter[]): Injector => ({
    normalSteps: (who, t, rng) => normalSteps(who, t, rng),
    task: (who, t, steps, o = {}) => {
      const e = new Emitter(anomRng, fleet, t);
      e.scopes = o.scopes;
      e.marking = o.markAll ?? false;
      e.task(who, steps);
      e.marking = false;
      marks.push(e);
      return e;
    },
    callersOf: (server) => fleet.original.filter((w) => !w.role.serves && Object.keys(w.role.chain).some((s) => s.startsWith(`mcp:${server.role.role}:`)) && fleet.callee(w, server.role.role) === server),
  });
  const record = (detector: Label['detector'], variant: string, who: Identity, strength: number, unit: string, newInstance: boolean, emitters: Emitter[]) => {
    const id = `s${seed}-${String(labels.length + 1).padStart(2, '0')}-${variant}`;
    const spans = emitters.flatMap((e) => e.marked);
    if (spans.length === 0) throw new Error(`anomaly ${id} marked no spans`);
    for (const e of emitters) {
      e.trace.labelIds = [...(e.trace.labelIds ?? []), id];
      traces.push(e.trace);
    }
    labels.push({
      id, detector, variant, identity: who.id, peerGroup: who.role.role,
      startTime: iso(Math.min(...spans.map((s) => s.startMs))), endTime: iso(Math.max(...spans.map((s) => s.endMs))),
      traceIds: [...new Set(spans.map((s) => s.traceId))], spanIds: spans.map((s) => s.spanId),
      strength, strengthUnit: unit, newInstance,
    });
  };

  const instances = CATALOGUE.flatMap((t) => t.strengths.map((s) => ({ t, s })));
  // Most constrained first: flaky-only, then those with the fewest eligible roles.
  instances.sort((a, b) => Number(!!b.t.flakyOnly) - Number(!!a.t.flakyOnly) || a.t.roles.length - b.t.roles.length);
  const skipped: string[] = [];
  for (const { t, s } of instances) {
    const candidates = anomRng.shuffle(fleet.original.filter((w) => t.roles.includes(w.role.role) && (t.flakyOnly ? !!w.flaky : !(w.flaky && t.detector === 'retry_storm'))))
      .sort((a, b) => (busy.get(a.id)?.length ?? 0) - (busy.get(b.id)?.length ?? 0));
    let placed = false;
    for (const who of candidates) {
      const lo = Math.max(learnedAt(who), startMs + LEARN_MS + 2 * HOUR);
      const hi = endMs - 2 * HOUR;
      if (!(lo < hi)) continue;
      for (let tries = 0; tries < 8 && !placed; tries++) {
        const when = Math.floor(anomRng.range(lo, hi));
        if ((busy.get(who.id) ?? []).some((b) => Math.abs(b - when) < ANOMALY_SPACING)) continue;
        const marks: Emitter[] = [];
        t.build(injector(marks), who, when, s, anomRng);
        record(t.detector, t.variant, who, s, t.unit, false, marks);
        busy.set(who.id, [...(busy.get(who.id) ?? []), when]);
        placed = true;
      }
      if (placed) break;
    }
    if (!placed) skipped.push(`${t.variant}/${s}`);
  }
  for (const { ni, who } of badJoiners) {
    const marks: Emitter[] = [];
    ni.build(injector(marks), who, who.joinMs, anomRng);
    record(ni.detector, ni.variant, who, ni.strength, ni.unit, true, marks);
  }
  if (skipped.length) throw new Error(`seed ${seed}: could not place anomalies ${skipped.join(', ')} (fleet too small or run too short)`);
  labels.sort((a, b) => a.startTime.localeCompare(b.startTime) || a.id.localeCompare(b.id));

  // Write: traces in event-time order, `perLine` to a request.
  traces.sort((a, b) => a.startMs - b.startMs || (a.traceId < b.traceId ? -1 : 1));
  fs.mkdirSync(dir, { recursive: true });
  const tracesFile = path.join(dir, 'traces.jsonl');
  const fd = fs.openSync(tracesFile, 'w');
  let lines = 0;
  let spans = 0;
  let benignActions = 0;
  let totalActions = 0;
  let modelCalls = 0;
  const counts = new Map<string, number>();
  const heldOwners: GenTrace[][] = [[], []];
  try {
    for (let i = 0, n = 0; i < traces.length; i += n) {
      // Like a Collector's batches: up to `perLine` traces, and no more than a minute of event time (a
      // long session's first part must not wait in a line for the hour of night traffic placed after it).
      for (n = 1; n < perLine && i + n < traces.length && traces[i + n].startMs - traces[i].startMs < LINE_SPAN_MS; n++);
      const chunk = traces.slice(i, i + n);
      fs.writeSync(fd, encodeLine(opts.calleeFirst ? ownersLater(chunk, heldOwners) : chunk, 'vigil-scenarios') + '\n');
      lines++;
      for (const tr of chunk) for (const s of tr.spans) {
        spans++;
        if (s.act === 'model') modelCalls++;
        if (!s.act || !BENIGN_ACTS.has(s.act)) continue;
        totalActions++;
        counts.set(s.resource.identity, (counts.get(s.resource.identity) ?? 0) + 1);
        if (!tr.labelIds) benignActions++;
      }
    }
    for (const held of heldOwners) if (held.length > 0) fs.writeSync(fd, encodeLine(held, 'vigil-scenarios') + '\n');
  } finally {
    fs.closeSync(fd);
  }

  const identityFacts: Manifest['identityFacts'] = {};
  for (const who of fleet.identities) {
    const list = actionTimes.get(who.id) ?? [];
    identityFacts[who.id] = {
      peerGroup: who.role.role,
      firstAction: iso(list[0] ?? who.joinMs),
      learned: late.has(who.id) ? iso(who.joinMs) : Number.isFinite(learnedAt(who)) ? iso(learnedAt(who)) : iso(endMs),
      actions: counts.get(who.id) ?? 0,
      joinedLate: late.has(who.id),
    };
  }
  const manifest: Manifest = {
    seed, startTime: iso(startMs), endTime: iso(endMs), lines, traces: new Set(traces.map((t) => t.traceId)).size, spans,
    benignActions, totalActions, modelCalls, identities: fleet.identities.length, identityFacts, traps,
  };
  const labelsFile = path.join(dir, 'labels.json');
  const configFile = path.join(dir, 'config.yaml');
  const manifestFile = path.join(dir, 'manifest.json');
  fs.writeFileSync(labelsFile, JSON.stringify(labels, null, 1) + '\n');
  fs.writeFileSync(configFile, scenarioConfigYaml(seed));
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 1) + '\n');
  return { dir, tracesFile, labelsFile, configFile, manifestFile, labels, manifest };
}

/**
 * What a line holds in the callee-first order: the owner's spans of `chunk`'s traces that ended before any
 * delegated agent's span started (sent as they end: before the callee's), every delegated agent's span
 * (those of another resource than the owner's, the root span's or else the earliest span's), and the
 * owner's other spans held two lines ago; the owner's other spans of `chunk` are held in turn.
 */
function ownersLater(chunk: readonly GenTrace[], held: GenTrace[][]): GenTrace[] {
  const now: GenTrace[] = held.shift()!;
  const later: GenTrace[] = [];
  for (const t of chunk) {
    const first = t.spans.find((s) => !s.parentSpanId) ?? t.spans.reduce((a, b) => (b.startMs < a.startMs ? b : a));
    const owner = first.resource;
    const others = t.spans.filter((s) => s.resource !== owner);
    const delegatedFrom = Math.min(...others.map((s) => s.startMs));
    const early = t.spans.filter((s) => s.resource === owner && s.endMs < delegatedFrom);
    if (others.length + early.length > 0) now.push({ ...t, spans: [...early, ...others] });
    later.push({ ...t, spans: t.spans.filter((s) => s.resource === owner && !(s.endMs < delegatedFrom)) });
  }
  held.push(later);
  return now;
}
