/**
 * What the misbehaviour tests share: teaching a real daemon an identity's baseline from a framework's
 * recorded normal run, watching the alerts it raises, and checking an alert against the normative schema.
 *
 * Teaching replays the golden fixture (`test/fixtures/frameworks/<name>.otlp.jsonl`) many times through
 * the daemon's own OTLP/HTTP JSON receiver, each copy a distinct run: trace and span ids remapped, tool
 * call ids made unique (a real model never repeats one; a repeated id would be a retry), and every time
 * shifted into the past so the copies spread evenly over `baselines.minAge` + 1 h, ending an hour ago.
 * Spans in the past are accepted (only `time.maxFutureSkew` bounds the other side) and judged in event
 * time, so this is what a Collector replaying yesterday's traffic would send. The number of copies is
 * the fewest that give every listed identity `baselines.minActions` actions: with the contract defaults
 * (300 actions, 24 h) the identity is then judged against its own history, which the test checks
 * through the API before the live run.
 *
 * One file per framework, each with its own daemon and process: OpenTelemetry's global providers can be
 * registered once per process, and the two LangChain instrumentations patch the same module.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Alert } from '../../../src/alerts/alert.js';
import { SEVERITIES } from '../../../src/config/fields.js';
import type { Severity } from '../../../src/config/schema.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../../helpers/daemon.js';
import { agentResource, agentTelemetry, FIXTURES, loopback, summarize, type ActionSummary, type AgentTelemetry, type Live, type Loopback, type Protocol } from '../harness.js';
import { validateAlert } from '../../helpers/alert-schema.js';

const HOUR = 3_600_000;
const CALL_ID_KEYS = new Set(['gen_ai.tool.call.id', 'ai.toolCall.id']);


/** A daemon whose raised alerts are collected as they are announced (`daemon.alerts.subscribe`). */
export interface WatchedDaemon extends TestDaemon {
  alerts: Alert[];
}

export async function startWatchedDaemon(overrides: Record<string, unknown> = {}): Promise<WatchedDaemon> {
  const t = await startTestDaemon(overrides);
  const alerts: Alert[] = [];
  t.daemon.alerts.subscribe((e) => {
    if (e.type === 'alert') alerts.push(e.alert);
  });
  return Object.assign(t, { alerts });
}

/** A misbehaviour test file's watched daemon, loopback API(s) and agent telemetry; set once its `beforeAll` has run. */
export interface Misbehaving extends Live<WatchedDaemon> {
  otel: AgentTelemetry;
  /** The second API, on `outsideHost`, when one was asked for. */
  outside: Loopback;
}

/**
 * The set-up every misbehaviour test shares, at the top level of its file. Before the tests: a watched
 * daemon (with `daemon` config overrides), the loopback API (and one on `outsideHost`), `prepare`, the
 * agent's telemetry (`protocol`, resource naming `identity`) and `instrument` with it. After them: the
 * telemetry finished, the APIs and then the daemon closed (a file's own later `afterAll` runs before).
 */
export function misbehaving(o: {
  identity: string;
  protocol: Protocol;
  daemon?: Record<string, unknown>;
  outsideHost?: string;
  prepare?: (live: Misbehaving) => Promise<void>;
  instrument?: (otel: AgentTelemetry) => void;
}): Misbehaving {
  const live = {} as Misbehaving;
  beforeAll(async () => {
    live.t = await startWatchedDaemon(o.daemon);
    live.api = await loopback();
    if (o.outsideHost) live.outside = await loopback(o.outsideHost);
    await o.prepare?.(live);
    live.otel = agentTelemetry(live.t, o.protocol, agentResource(o.identity));
    o.instrument?.(live.otel);
  });
  afterAll(async () => {
    await live.otel.finish();
    await Promise.all([live.api.close(), live.outside?.close()]);
    await live.t.close();
  });
  return live;
}

/** Control: `run` (the normal run, live, its spans flushed) gives at least `actions` actions of `identity` and raises no alert. */
export async function expectQuietControl(t: WatchedDaemon, identity: string, actions: number, run: () => Promise<void>): Promise<void> {
  const control = Date.now();
  await run();
  await waitFor(() => liveActions(t, identity, control).length >= actions, 'the control run’s actions');
  expect(t.alerts).toEqual([]);
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpAttribute[];
  events?: Array<{ timeUnixNano?: string }>;
  links?: Array<{ traceId: string; spanId: string }>;
}
interface OtlpRequest {
  resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
}

const spansOf = (r: OtlpRequest): OtlpSpan[] => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));

/** XORs the first `digits` hex digits of an id with `k`: a bijection, so a copy keeps its own tree. */
function remapId(id: string, k: number, digits: number): string {
  if (!id) return id;
  const head = (parseInt(id.slice(0, digits), 16) ^ k) >>> 0;
  return head.toString(16).padStart(digits, '0') + id.slice(digits);
}

/** Copy `k` of a fixture's requests: fresh ids and call ids, times moved by `shiftNs`. */
function copyOf(requests: readonly OtlpRequest[], k: number, shiftNs: bigint): OtlpRequest[] {
  const shift = (ns: string) => (BigInt(ns) + shiftNs).toString();
  const out = structuredClone(requests) as OtlpRequest[];
  for (const span of out.flatMap(spansOf)) {
    span.traceId = remapId(span.traceId, k, 8);
    span.spanId = remapId(span.spanId, k, 4);
    if (span.parentSpanId) span.parentSpanId = remapId(span.parentSpanId, k, 4);
    for (const l of span.links ?? []) [l.traceId, l.spanId] = [remapId(l.traceId, k, 8), remapId(l.spanId, k, 4)];
    span.startTimeUnixNano = shift(span.startTimeUnixNano);
    span.endTimeUnixNano = shift(span.endTimeUnixNano);
    for (const e of span.events ?? []) if (e.timeUnixNano) e.timeUnixNano = shift(e.timeUnixNano);
    for (const a of span.attributes ?? []) {
      if (CALL_ID_KEYS.has(a.key) && a.value.stringValue !== undefined) a.value.stringValue += `-replay${k}`;
    }
  }
  return out;
}

async function postJson(url: string, body: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
}

export interface Taught {
  copies: number;
  /** Actions one copy of the fixture gives each identity. */
  perCopy: Map<string, number>;
  /** Event time of the first and the last copy. */
  from: number;
  to: number;
}

/**
 * Teaches the daemon `identities`' normal behaviour from fixture `name` (see the file comment), waits
 * until every action of every copy is derived and judged, and checks the result: each identity is
 * judged against its own baseline (`phase: own`) and the normal behaviour raised no alert.
 */
export async function teachFromFixture(t: WatchedDaemon, name: string, identities: readonly string[]): Promise<Taught> {
  const lines = fs.readFileSync(path.join(FIXTURES, `${name}.otlp.jsonl`), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const requests = lines.map((l) => JSON.parse(l) as OtlpRequest);
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as ActionSummary[];
  const short = (id: string) => id.slice(id.lastIndexOf('/') + 1);
  const perCopy = new Map(identities.map((id) => [id, expected.filter((a) => a.identity === short(id)).length]));
  for (const [id, n] of perCopy) if (n === 0) throw new Error(`fixture ${name} has no actions of ${id}`);

  const { minActions, minAge } = t.daemon.config.baselines;
  const copies = Math.max(...[...perCopy.values()].map((n) => Math.ceil(minActions / n)));
  const fixtureStartNs = spansOf({ resourceSpans: requests.flatMap((r) => r.resourceSpans) })
    .map((s) => BigInt(s.startTimeUnixNano))
    .reduce((a, b) => (b < a ? b : a));
  const to = Date.now() - HOUR;
  const from = to - minAge - HOUR;
  const step = (to - from) / Math.max(1, copies - 1);

  // Each copy's requests one by one, in the order the exporters sent them (the MCP server's before the
  // agent's). Not several runs per request: context repair remembers an identity's 16 latest tool
  // spans, so a batch holding many runs' tools would lose attributions.
  for (let k = 0; k < copies; k++) {
    const startNs = BigInt(Math.round(from + k * step)) * 1_000_000n;
    for (const request of copyOf(requests, k + 1, startNs - fixtureStartNs)) {
      const answer = (await postJson(`${t.httpUrl}/v1/traces`, JSON.stringify(request))) as { partialSuccess?: { rejectedSpans?: string } };
      expect(answer.partialSuccess?.rejectedSpans ?? '0', 'spans in the past are accepted').toBe('0');
    }
    // The first copy is fully derived before the next begins, as live traffic would be while the
    // identity learns: calls context repair holds (an MCP transport's own calls) are decided within
    // 5 x traces.wait of wall time. Sent at once, they would first come out behind copies hours later
    // in event time: late, and judged against a baseline they never had the chance to join.
    if (k === 0) {
      const held = async () => (await t.daemon.metrics.traceBufferSpans.get()).values[0]?.value ?? 0;
      await waitFor(async () => (await held()) === 0, 'the first copy\'s held spans derived');
    }
  }

  // Every copy's actions derived (parts waiting for a parent are emitted within `traces.wait`).
  for (const [id, n] of perCopy) {
    const derived = () => t.actions.filter((a) => a.identity === id);
    await waitFor(() => derived().length >= copies * n, `${copies} x ${n} baseline actions of ${id}`).catch((err: Error) => {
      // Say which actions are missing: e.g. calls still held by context repair.
      const counts = new Map<string, number>();
      for (const a of derived()) counts.set(`${a.kind} ${a.target} ${a.access}`, (counts.get(`${a.kind} ${a.target} ${a.access}`) ?? 0) + 1);
      throw new Error(`${err.message}; derived ${derived().length}: ${JSON.stringify([...counts])}`);
    });
  }
  // The replayed copies give exactly what one replay of the fixture gives, `copies` times.
  for (const id of identities) {
    const got = summarize(t.actions.filter((a) => a.identity === id));
    const want = expected.filter((a) => a.identity === short(id)).flatMap((a) => Array.from({ length: copies }, () => a));
    expect(got).toEqual(want.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))));
  }
  for (const id of identities) {
    const res = await fetch(`${t.apiUrl}/v1/identities/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const baseline = (await res.json()) as { phase: string; actions: number; firstSeen: string; lastSeen: string };
    expect(baseline.phase, `${id} is judged against its own baseline`).toBe('own');
    expect(baseline.actions).toBeGreaterThanOrEqual(minActions);
    expect(Date.parse(baseline.lastSeen) - Date.parse(baseline.firstSeen)).toBeGreaterThanOrEqual(minAge);
  }
  expect(t.alerts, 'the normal behaviour raised no alert').toEqual([]);
  return { copies, perCopy, from, to };
}

/** Actions of `identity` at or after `since` (wall-clock ms: the live runs' spans carry real times). */
export function liveActions(t: TestDaemon, identity: string, since: number) {
  return t.actions.filter((a) => a.identity === identity && a.time >= since);
}

/**
 * Waits for the alert of `detector` about `identity`, then checks it: valid against the alert schema,
 * severity at least medium, and every evidence span one of `misbehaving` (the live misbehaving run's
 * spans) with `mustCite` among them.
 */
export async function expectAlert(
  t: WatchedDaemon,
  want: { detector: string; identity: string; misbehaving: ReadonlySet<string>; mustCite: readonly string[]; minSeverity?: Severity },
): Promise<Alert> {
  const alert = await waitFor(
    () => t.alerts.find((a) => a.detector === want.detector && a.identity === want.identity),
    `a ${want.detector} alert about ${want.identity} (raised: ${JSON.stringify(t.alerts.map((a) => [a.detector, a.identity, a.evidence.subject]))})`,
  );
  expect(validateAlert(alert), JSON.stringify(validateAlert.errors)).toBe(true);
  expect(SEVERITIES.indexOf(alert.severity)).toBeGreaterThanOrEqual(SEVERITIES.indexOf(want.minSeverity ?? 'medium'));
  expect(alert.evidence.spanIds.length).toBeGreaterThan(0);
  for (const s of alert.evidence.spanIds) expect(want.misbehaving.has(s), `evidence span ${s} is one of the misbehaving run's`).toBe(true);
  expect(alert.evidence.spanIds).toEqual(expect.arrayContaining([...want.mustCite]));
  return alert;
}
