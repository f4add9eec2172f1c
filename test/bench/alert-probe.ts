/**
 * The alert probe client of `npm run bench` (issue 5 item 5), run as a separate process: it makes a running
 * daemon raise alerts over OTLP and times them where a SOC sees them.
 *
 * Set-up (both modes): `identities` read-only identities (peer group `probe-agent`) learn a baseline of
 * `baselineTraces` traces each, in the past (48 h ago up to 1 h ago: old enough for the default
 * `baselines.minAge`, enough actions for `minActions`): a tool `reports.read` with its `GET`. Then each
 * probe is one small OTLP/HTTP-protobuf export holding one trace: a tool `records.purge.<k>` and its
 * `DELETE https://reports.internal/purge-<letters>/<k>` — a tool and a target never written before, so
 * every probe raises a NEW `unexpected_write` alert (the engine merges a tool's and its call's findings of
 * one detector into one) rather than folding into an earlier one (a folded finding yields an `update`
 * frame, not an `alert` frame).
 *
 * - `latency`: probes go out one every `intervalMs` after the parent says `go` (it starts background load
 *   first); for each, the time from the start of the export call to the first websocket `alert` frame
 *   whose `evidence.spanIds` holds one of the probe's span ids. A probe without such a frame within
 *   `alertTimeoutMs` is counted as missing.
 * - `webhooks`: a local receiver (node:http, 200 OK, signatures checked with the independent
 *   `standardwebhooks` package) is configured as the daemon's webhook endpoint; probes go out
 *   `probesPerExport` traces per export, `concurrency` exports in flight, so alerts are raised faster
 *   than they can be delivered and the delivery path is what is measured; deliveries are deduplicated by
 *   `webhook-id` and checked against every alert in the store (`GET /v1/alerts`).
 *
 * IPC: parent -> {type:'run', config}; latency: child -> {type:'armed'} (baselines learned, websocket
 * open), parent -> {type:'go'}; webhooks: child -> {type:'receiver', url, secret}, parent -> {type:'target',
 * http, api} (the daemon started with that webhook), child -> {type:'probing'} as the probes start;
 * child -> {type:'result', result} and exits.
 */
import { runLatency } from './latency-probe.js';
import type { ProbeConfig } from './probe-protocol.js';
import { runWebhooks } from './webhook-probe.js';

// Child-process entry.
if (process.send !== undefined) {
  const send = (msg: unknown) => process.send!(msg);
  const last = (msg: unknown) => process.send!(msg, () => process.exit(0));
  process.once('message', (msg: { type: string; config: ProbeConfig }) => {
    if (msg.type !== 'run') return;
    const run = msg.config.mode === 'latency' ? runLatency(msg.config, send) : runWebhooks(msg.config, send);
    run.then(
      (result) => last({ type: 'result', result }),
      (err: unknown) => last({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}
