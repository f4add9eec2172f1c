/**
 * An MCP server in its own process with its own identity, as an operator would run one: the MCP SDK's
 * Streamable HTTP transport on node:http, OpenTelemetry configured from the standard environment
 * (`OTEL_RESOURCE_ATTRIBUTES` names `nhi.identity`), inbound HTTP instrumented (so the agent's W3C
 * `traceparent` makes this server's spans children of the agent's call: one trace, two identities),
 * fetch instrumented, the Traceloop MCP instrumentation on the Server class, OTLP http/protobuf to Vigil.
 *
 * CommonJS on purpose: `@opentelemetry/instrumentation-http` patches `http` through require hooks, which
 * an ES module import would bypass without a loader flag.
 *
 * Env: VIGIL_OTLP_URL (traces endpoint), STORAGE_URL (the loopback API its tools call), CAPTURE_FILE
 * (where to write what it exported, OTLP/JSON lines). Prints `listening <port>`; SIGTERM flushes and exits.
 */
'use strict';
const fs = require('node:fs');
const { context, propagation, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici');
const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');
const { detectResources, envDetector } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { McpInstrumentation } = require('@traceloop/instrumentation-mcp');

const lines = [];
const otlp = new OTLPTraceExporter({ url: process.env.VIGIL_OTLP_URL });
/** Exports to Vigil and keeps each batch for the golden fixture. */
const tee = {
  export(spans, done) {
    lines.push(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
    otlp.export(spans, done);
  },
  shutdown: () => otlp.shutdown(),
  forceFlush: () => otlp.forceFlush(),
};
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const provider = new BasicTracerProvider({
  resource: detectResources({ detectors: [envDetector] }),
  spanProcessors: [new BatchSpanProcessor(tee, { scheduledDelayMillis: 50 })],
});
trace.setGlobalTracerProvider(provider);
const mcpInstrumentation = new McpInstrumentation();
registerInstrumentations({
  tracerProvider: provider,
  // Outgoing node:http requests are the OTLP exporter's own: never traced.
  instrumentations: [new HttpInstrumentation({ ignoreOutgoingRequestHook: () => true }), new UndiciInstrumentation(), mcpInstrumentation],
});

// Required after the instrumentations are registered, so `http` is the patched module.
const http = require('node:http');
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const server = require('@modelcontextprotocol/sdk/server/index.js');
mcpInstrumentation.manuallyInstrument(server);
const { z } = require('zod');

function newServer() {
  const mcp = new McpServer({ name: 'files-mcp', version: '1.0.0' });
  const call = async (method, name) => {
    const res = await fetch(`${process.env.STORAGE_URL}/files/${encodeURIComponent(name)}`, { method });
    return { content: [{ type: 'text', text: JSON.stringify(await res.json()) }], isError: !res.ok };
  };
  mcp.registerTool('read_file', { description: 'Reads a file', inputSchema: { name: z.string() } }, ({ name }) => call('GET', name));
  mcp.registerTool('delete_file', { description: 'Deletes a file', inputSchema: { name: z.string() } }, ({ name }) => call('DELETE', name));
  return mcp;
}

const httpServer = http.createServer(async (req, res) => {
  // Stateless: one MCP server and transport per request, as the SDK's stateless example does.
  const mcp = newServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    transport.close();
    mcp.close();
  });
  await mcp.connect(transport);
  await transport.handleRequest(req, res);
});
httpServer.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${httpServer.address().port}\n`));

process.on('SIGTERM', async () => {
  httpServer.close();
  await provider.forceFlush();
  await provider.shutdown();
  if (process.env.CAPTURE_FILE) fs.writeFileSync(process.env.CAPTURE_FILE, lines.join('\n') + '\n');
  process.exit(0);
});
