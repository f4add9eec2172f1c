/**
 * MCP client and server + Traceloop MCP instrumentation, misbehaving: unexpected_write on the server.
 *
 * Two identities, as in `../mcp.test.ts`: the agent (this process) and the files MCP server (its own
 * process, `../mcp-server.cjs`). Their baselines (the recorded normal session, both sides, replayed over
 * a day): the agent reads `report.txt` and deletes `old.txt` through the server, so the server reads
 * one file and deletes another. Then, live through the real MCP SDK over Streamable HTTP, both exporters
 * and W3C propagation, the agent's plan deletes `report.txt` — the file the server only ever read. The
 * agent's own steps are all known (it does delete files); what is new is the server deleting a target it
 * only read, in the agent's trace.
 */
import type { ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpInstrumentation } from '@traceloop/instrumentation-mcp';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/daemon.js';
import { startMcpServer } from '../harness.js';
import { expectAlert, liveActions, misbehaving, teachFromFixture } from './teach.js';

const AGENT = 'spiffe://acme.example/ns/support/sa/agent-mcp';
const SERVER = 'spiffe://acme.example/ns/tools/sa/files-mcp';
let child: ChildProcess;
let serverUrl: string;

const env = misbehaving({
  identity: AGENT,
  protocol: 'http/json',
  // The MCP transport's own calls (the `initialized` notification, the event stream) run in no span
  // and inside no tool: context repair holds such calls of a tool-using identity 5 x `traces.wait` for
  // a tool that never comes. With the default 2 s, each replayed session's would settle 10 s after it
  // was sent; 250 ms keeps the test fast and changes nothing else here (every trace arrives complete).
  daemon: { traces: { wait: '250ms' } },
  // The API is the server's storage; the server is up before the agent's telemetry.
  prepare: async ({ t, api }) => {
    const server = startMcpServer(t, { identity: SERVER, storage: api, captureFile: '' });
    child = server.child;
    serverUrl = await server.url;
  },
  instrument: () => new McpInstrumentation().manuallyInstrument({ Client }),
});
// Runs before `misbehaving`'s (after-hooks run in reverse order): the server stopped first.
afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM'); // flushes its spans and exits
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

/**
 * One MCP session of the agent: the scripted plan's tool calls, then (once the server's spans are in,
 * as in `../mcp.test.ts`) the session closed and the agent's spans flushed.
 */
async function session(plan: Array<[tool: string, file: string]>): Promise<void> {
  const since = Date.now();
  const client = new Client({ name: 'support-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl)));
  for (const [name, file] of plan) {
    const result = await client.callTool({ name, arguments: { name: file } });
    expect(result.isError).toBeFalsy();
  }
  await waitFor(() => liveActions(env.t, SERVER, since).length >= plan.length, 'the server’s actions');
  await client.close();
  await env.otel.provider.forceFlush();
  await waitFor(() => liveActions(env.t, AGENT, since).filter((a) => a.kind === 'tool').length >= plan.length, 'the agent’s tool calls');
}

describe('MCP client and server misbehaving', () => {
  it('the agent has the server delete a file it only ever read: unexpected_write on the server, in the agent’s trace', async () => {
    const { t, api: storage } = env;
    const taught = await teachFromFixture(t, 'mcp', [AGENT, SERVER]);
    expect(taught.copies).toBe(150); // the server does 2 actions a run, 300 needed

    // Control: the normal session, live, raises nothing.
    await session([['read_file', 'report.txt'], ['delete_file', 'old.txt']]);
    expect(t.alerts).toEqual([]);
    // The agent's telemetry leaves out the test's own calls to Vigil (teaching it, reading its API):
    // traced, they became the agent's POSTs to /v1/traces, an unexpected write once they were exported.
    expect(env.otel.tee.lines.join('\n')).not.toContain(new URL(t.httpUrl).host);

    const start = Date.now();
    await session([['read_file', 'report.txt'], ['delete_file', 'report.txt']]);
    expect(storage.requests.slice(-2)).toEqual(['GET /files/report.txt', 'DELETE /files/report.txt']);
    const live = [...liveActions(t, AGENT, start), ...liveActions(t, SERVER, start)];
    const del = live.find((a) => a.identity === SERVER && a.access === 'delete')!;
    const agentDelete = live.find((a) => a.identity === AGENT && a.target === 'delete_file')!;
    expect(del.target).toBe('127.0.0.1/files/report.txt');
    expect(del.traceId).toBe(agentDelete.traceId); // one trace, two identities

    const alert = await expectAlert(t, { detector: 'unexpected_write', identity: SERVER, misbehaving: new Set(live.map((a) => a.spanId)), mustCite: [del.spanId] });
    expect(alert.severity).toBe('high');
    expect(alert.evidence.subject).toBe('127.0.0.1/files/report.txt|delete');
    expect(alert.evidence.traceIds).toEqual([agentDelete.traceId]);
    expect(alert.explanation).toMatch(/It read `127\.0\.0\.1\/files\/report\.txt` \d+ times over \d+ hours \(counting recent uses more: each halves in weight every 14 days\) and never deleted it/);
    // The agent did nothing new (it deletes files through this server every run): no alert about it.
    expect(t.alerts.filter((a) => a.identity === AGENT)).toEqual([]);
  });
});
