/**
 * Sanity pass with the real OpenTelemetry JS SDK: BasicTracerProvider + BatchSpanProcessor + the OTLP/gRPC
 * exporter, producing a fixed number of spans as an instrumented agent would (traces of a root tool call
 * with HTTP children). The rate it reaches is bound by the SDK (span objects, its own protobuf encoder,
 * one export in flight at a time), not by the daemon: it checks that real exporters get through, nothing
 * more. Run as a forked child: parent -> {type:'run', config}; child -> {type:'result', result}.
 */
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export interface SdkConfig {
  /** host:port of the gRPC receiver. */
  target: string;
  spans: number;
  spansPerTrace: number;
  timeoutMs: number;
}

export interface SdkResult {
  spans: number;
  exportedOk: number;
  exportFailed: number;
  exportCalls: number;
  ms: number;
  spansPerSec: number;
  clientCpuPct: number;
  firstError: string | null;
}

type ExportCallback = Parameters<SpanExporter['export']>[1];

/** Counts what the wrapped exporter reports back (0 = SUCCESS). */
class CountingExporter implements SpanExporter {
  ok = 0;
  failed = 0;
  calls = 0;
  firstError: string | null = null;
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: ExportCallback): void {
    this.calls++;
    this.inner.export(spans, (result) => {
      if (result.code === 0) this.ok += spans.length;
      else {
        this.failed += spans.length;
        this.firstError ??= String(result.error?.message ?? result.error ?? 'failed');
      }
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

const TOOLS = ['search_tickets', 'read_file', 'send_email', 'tickets.update'];
const HOSTS = ['api.github.com', 'tickets.internal', 'api.openai.com'];

export async function runSdk(cfg: SdkConfig): Promise<SdkResult> {
  // forceFlush exports everything still queued at once; the exporter's default limit of 30 concurrent
  // exports would refuse part of it, so allow one per possible batch.
  const concurrencyLimit = Math.max(30, Math.ceil(cfg.spans / 512) + 2);
  const exporter = new CountingExporter(new OTLPTraceExporter({ url: `http://${cfg.target}`, timeoutMillis: cfg.timeoutMs, concurrencyLimit }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'sdk-bench-agent',
      'nhi.identity': 'spiffe://example.org/ns/prod/sa/sdk-bench-agent',
      'service.instance.id': `sdk-${process.pid}`,
    }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: Math.max(2048, cfg.spans + 1024), maxExportBatchSize: 512, scheduledDelayMillis: 20, exportTimeoutMillis: cfg.timeoutMs })],
  });
  const tracer = provider.getTracer('@vigil/bench-sdk');

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let made = 0;
  // Produce in slices, yielding between them as an application would, so exports overlap production.
  while (made < cfg.spans) {
    const slice = Math.min(cfg.spans - made, 512);
    for (let i = 0; i < slice; ) {
      const tool = TOOLS[(made + i) % TOOLS.length];
      const root = tracer.startSpan(`execute_tool ${tool}`, {
        kind: SpanKind.INTERNAL,
        attributes: {
          'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.id': `call_${made + i}`,
          'gen_ai.tool.call.arguments': '{"query":"customer invoice refund please summarise the ticket"}',
        },
      });
      i++;
      const ctx = trace.setSpan(ROOT_CONTEXT, root);
      for (let c = 1; c < cfg.spansPerTrace && i < slice; c++, i++) {
        const host = HOSTS[(made + i) % HOSTS.length];
        const child = tracer.startSpan('GET', {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': 'GET', 'url.full': `https://${host}/v1/tickets/${made + i}`, 'server.address': host,
            'server.port': 443, 'http.response.status_code': 200,
          },
        }, ctx);
        child.end();
      }
      root.end();
    }
    made += slice;
    await new Promise((r) => setImmediate(r));
  }
  await provider.forceFlush();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await provider.shutdown();
  return {
    spans: made,
    exportedOk: exporter.ok,
    exportFailed: exporter.failed,
    exportCalls: exporter.calls,
    ms: Math.round(ms),
    spansPerSec: Math.round((exporter.ok / ms) * 1000),
    clientCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / ms) * 1000) / 10,
    firstError: exporter.firstError,
  };
}

if (process.send !== undefined) {
  const last = (msg: unknown) => process.send!(msg, () => process.exit(0));
  process.once('message', (msg: { type: string; config: SdkConfig }) => {
    if (msg.type !== 'run') return;
    runSdk(msg.config).then(
      (result) => last({ type: 'result', result }),
      (err: unknown) => last({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}
