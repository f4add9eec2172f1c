/**
 * CONTRACT §3 Time: an action more than `time.lateness` behind its identity's newest is accepted and
 * learned, never rejected, and counted as late: in /metrics when serving, in the summary of a replay.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { CLI } from '../helpers/serve-process.js';

const MIN = 60_000;

/** One OTLP/JSON export of an HTTP call by one identity, started `startMs` since the epoch. */
function exportOf(n: number, startMs: number): object {
  const nanos = (ms: number) => String(BigInt(ms) * 1_000_000n);
  const hex = (len: number) => n.toString(16).padStart(len, '0');
  const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return {
    resourceSpans: [{
      resource: { attributes: [attr('service.name', 'svc'), attr('nhi.identity', 'spiffe://acme/late')] },
      scopeSpans: [{
        scope: { name: 'test' },
        spans: [{
          traceId: hex(32), spanId: hex(16), name: 'GET', kind: 3,
          startTimeUnixNano: nanos(startMs), endTimeUnixNano: nanos(startMs + 5),
          attributes: [attr('http.request.method', 'GET'), attr('url.full', 'https://api.example.com/items')],
        }],
      }],
    }],
  };
}

let d: TestDaemon | undefined;
afterEach(async () => d?.close());

it('serve: a span 31 minutes behind its identity is accepted and counted in vigil_actions_late_total', async () => {
  d = await startTestDaemon({ traces: { wait: '50ms' } });
  const now = Date.now();
  for (const body of [exportOf(1, now - MIN), exportOf(2, now - 31 * MIN), exportOf(3, now - 3 * MIN)]) {
    const res = await fetch(`${d.httpUrl}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(await res.json()).toEqual({}); // never rejected: a full success leaves partialSuccess unset
  }
  await waitFor(() => d!.actions.length >= 3, 'three actions');
  const metrics = await (await fetch(`${d.apiUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).text();
  expect(metrics).toMatch(/^vigil_actions_late_total 1$/m); // 3 minutes behind is within time.lateness
});

it('replay: the summary counts late actions', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-late-'));
  const file = path.join(dir, 'traces.jsonl');
  const t = Date.UTC(2026, 0, 5);
  fs.writeFileSync(file, [exportOf(1, t), exportOf(2, t - 31 * MIN), exportOf(3, t - 40 * MIN)].map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = spawnSync(process.execPath, [CLI, 'replay', file], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/actions\s+3 .*, 2 late/);
});

// Regression (review19 F12): replay took a span from months ahead as the new "now", and every identity's
// baseline was forgotten as idle. Recorded traffic has no spans from after the wall clock; serve refuses them.
it('replay: a span dated past the wall clock (time.maxFutureSkew) is rejected, and time does not jump to it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-future-'));
  const file = path.join(dir, 'traces.jsonl');
  const t = Date.UTC(2026, 0, 5);
  const ahead = Date.now() + 120 * 86_400_000;
  fs.writeFileSync(file, [exportOf(1, t), exportOf(2, ahead), exportOf(3, t + MIN)].map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = spawnSync(process.execPath, [CLI, 'replay', file], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/rejected\s+1 \(future_start=1\)/);
  // The span after it is not late: event time did not move to the rejected one.
  expect(r.stderr).toMatch(/actions\s+2 .*, 0 late/);
  // And it is on record: an alert about the telemetry, at the event time the replay had reached.
  const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { detector: string; identity: string; eventTime: string });
  expect(alerts.map((a) => [a.detector, a.identity, a.eventTime])).toEqual([['telemetry_integrity', 'spiffe://acme/late', new Date(t).toISOString()]]);
});
