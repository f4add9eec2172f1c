/**
 * What every framework test shares: the OpenTelemetry set-up an operator would write (async context,
 * W3C propagation, fetch instrumentation, a resource carrying `nhi.identity`), a real OTLP exporter to a
 * daemon on port 0 with a tee that keeps what was exported (the golden fixture), a loopback HTTP server
 * for the tools to call, and the one summary of actions that tests and fixture replays compare.
 *
 * Fixtures: `test/fixtures/frameworks/<name>.otlp.jsonl` (one ExportTraceServiceRequest per exported
 * batch, OTLP/JSON as the Collector's file exporter writes it) and `<name>.expected.json` (the summary
 * of the actions replaying it gives). Written when missing or with `UPDATE_FIXTURES=1`; otherwise
 * the live run leaves them alone and `fixtures.test.ts` replays them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/frameworks');
export const UPDATE = process.env.UPDATE_FIXTURES === '1';

export type Protocol = 'grpc' | 'http/protobuf' | 'http/json';

/** The real SDK exporter for `protocol`, pointed at the test daemon. */
export function exporterFor(protocol: Protocol, t: TestDaemon): SpanExporter {
  if (protocol === 'grpc') return new GrpcExporter({ url: t.grpcUrl });
  const url = `${t.httpUrl}/v1/traces`;
  return protocol === 'http/json' ? new JsonExporter({ url }) : new ProtoExporter({ url });
}

/** Forwards every batch to the real exporter and keeps it, serialized as the wire's OTLP/JSON. */
export class TeeExporter implements SpanExporter {
  readonly lines: string[] = [];
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.lines.push(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
    this.inner.export(spans, done);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** The resource of the agent under test: its service and the identity it runs as. */
export const agentResource = (identity: string): Record<string, string> => ({ 'service.name': 'support-agent', 'nhi.identity': identity });

export interface AgentTelemetry {
  provider: BasicTracerProvider;
  tee: TeeExporter;
  /** Flushes and shuts the provider down (every span exported and acknowledged). */
  finish(): Promise<void>;
}

/**
 * The few lines an operator adds to an agent: global async context and W3C propagation, a tracer
 * provider whose resource names the identity, fetch instrumentation, a batch processor to Vigil.
 */
export function agentTelemetry(t: TestDaemon, protocol: Protocol, resource: Record<string, string>): AgentTelemetry {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const tee = new TeeExporter(exporterFor(protocol, t));
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes(resource), spanProcessors: [new BatchSpanProcessor(tee)] });
  trace.setGlobalTracerProvider(provider);
  // Not the calls made to Vigil itself (the tests teach it over OTLP/HTTP and read its API): as an
  // operator would exclude them, or the agent's own telemetry would become its behaviour, a POST to
  // /v1/traces raised as an unexpected write whenever its batch was exported after teaching.
  const vigil = new Set([t.httpUrl, t.apiUrl]);
  const undici = new UndiciInstrumentation({ ignoreRequestHook: (req) => vigil.has(req.origin) });
  undici.setTracerProvider(provider);
  undici.enable();
  return {
    provider,
    tee,
    async finish() {
      await provider.forceFlush();
      await provider.shutdown();
      undici.disable();
    },
  };
}

export interface Loopback {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/**
 * A JSON API on `host`:0 for tools to call (any loopback address: 127.0.0.0/8 all reach this machine);
 * any path containing `/fail` answers 500.
 */
export async function loopback(host = '127.0.0.1'): Promise<Loopback> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      res.statusCode = req.url?.includes('/fail') ? 500 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: res.statusCode === 200, path: req.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://${host}:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

/** A test file's daemon and loopback API; set once its `beforeAll` has run. */
export interface Live<D extends TestDaemon = TestDaemon> {
  t: D;
  api: Loopback;
}

/**
 * Starts a daemon (`start`, a plain test daemon by default) and a loopback API before the file's tests,
 * and closes both after them, the API first. Call it at the top level of a test file.
 */
export function liveDaemon<D extends TestDaemon = TestDaemon>(start: () => Promise<D> = startTestDaemon as () => Promise<D>): Live<D> {
  const live = {} as Live<D>;
  beforeAll(async () => {
    live.t = await start();
    live.api = await loopback();
  });
  afterAll(async () => {
    await live.api.close();
    await live.t.close();
  });
  return live;
}

/**
 * Spawns the files MCP server (`mcp-server.cjs`, identity `identity`), exporting to the daemon and
 * calling `storage`, its spans also written to `captureFile` when one is given. `url` resolves to its
 * MCP endpoint once it listens, and rejects if it exits first.
 */
export function startMcpServer(t: TestDaemon, o: { identity: string; storage: Loopback; captureFile: string }): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'mcp-server.cjs')], {
    env: {
      ...process.env,
      OTEL_RESOURCE_ATTRIBUTES: `service.name=files-mcp,nhi.identity=${o.identity}`,
      VIGIL_OTLP_URL: `${t.httpUrl}/v1/traces`,
      STORAGE_URL: o.storage.url,
      CAPTURE_FILE: o.captureFile,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}/mcp`);
    });
    child.once('exit', (code) => reject(new Error(`mcp server exited ${code}`)));
  });
  return { child, url };
}

/** What a test asserts about one action: stable across runs (no times, ids or ports). */
export interface ActionSummary {
  identity: string;
  kind: string;
  target: string;
  access: string | null;
  failed: boolean;
  retry: boolean;
  agent: string | null;
  caller: string | null;
  repaired: boolean;
}

/** The last path segment of a SPIFFE id: short enough to read in an assertion. */
const short = (id: string | null | undefined): string | null => (id == null ? null : id.slice(id.lastIndexOf('/') + 1));

export function summarize(actions: readonly Action[]): ActionSummary[] {
  return actions
    .map((a) => ({
      identity: short(a.identity)!,
      kind: a.kind,
      target: a.kind === 'delegation' ? short(a.target)! : a.target,
      access: a.access,
      failed: a.failed,
      retry: a.retry,
      agent: a.agent,
      caller: short(a.caller),
      repaired: a.attributedTo != null,
    }))
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

/** Writes the captured OTLP and the summary its replay must give (when missing, or on UPDATE_FIXTURES=1). */
export function keepFixture(name: string, lines: readonly string[], expected: ActionSummary[]): void {
  const otlp = path.join(FIXTURES, `${name}.otlp.jsonl`);
  if (fs.existsSync(otlp) && !UPDATE) return;
  fs.mkdirSync(FIXTURES, { recursive: true });
  fs.writeFileSync(otlp, lines.join('\n') + '\n');
  fs.writeFileSync(path.join(FIXTURES, `${name}.expected.json`), JSON.stringify(expected, null, 1) + '\n');
}

/**
 * Every action of `identities`, once the run is over: the daemon is closed, which drains the trace
 * buffer and context repair's held calls, so the result is complete and equals what a replay of the
 * fixture gives (a replay drains at its end too). Closing twice is harmless.
 */
export async function finalActions(t: TestDaemon, identities: string[]): Promise<Action[]> {
  await t.close();
  return t.actions.filter((a) => identities.includes(a.identity));
}
