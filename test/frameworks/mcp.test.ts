/**
 * An MCP client (the agent, this process) and an MCP server (its own process and identity,
 * `mcp-server.cjs`), `@modelcontextprotocol/sdk` over Streamable HTTP, both with the Traceloop MCP
 * instrumentation, both exporting to Vigil. The agent's scripted plan (its "model") reads a file, then
 * deletes one; the server's tools call a loopback storage API.
 *
 * What Vigil must make of it: the agent's tool calls (`<tool>.tool` CLIENT spans, the POSTs beneath them
 * folded as MCP transport), the hop into the server's identity as a delegation of the agent (the
 * agent's fetch instrumentation sends `traceparent`, the server's inbound HTTP instrumentation picks it
 * up), the server's storage calls as the server's own actions with the agent as `caller`, and the
 * agent's tools taking the access class of what the server did for them.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpInstrumentation } from '@traceloop/instrumentation-mcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/daemon.js';
import { agentResource, agentTelemetry, finalActions, keepFixture, liveDaemon, startMcpServer, summarize } from './harness.js';

const AGENT = 'spiffe://acme.example/ns/support/sa/agent-mcp';
const SERVER = 'spiffe://acme.example/ns/tools/sa/files-mcp';
const env = liveDaemon(); // the API is the server's storage
let child: ChildProcess | undefined;
let serverUrl: string;
const capture = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-mcp-')), 'server.otlp.jsonl');

beforeAll(async () => {
  const server = startMcpServer(env.t, { identity: SERVER, storage: env.api, captureFile: capture });
  child = server.child;
  serverUrl = await server.url;
});
// Runs before `liveDaemon`'s (after-hooks run in reverse order).
afterAll(() => {
  child?.kill('SIGKILL');
});

/** Stops the server the way an operator would (SIGTERM: it flushes its spans and writes its capture). */
async function stopServer(): Promise<string[]> {
  const exited = new Promise((r) => child!.once('exit', r));
  child!.kill('SIGTERM');
  await exited;
  child = undefined;
  return fs.readFileSync(capture, 'utf8').split('\n').filter((l) => l !== '');
}

const agentRow = (kind: string, target: string, access: string | null) => ({
  identity: 'agent-mcp', kind, target, access, failed: false, retry: false, agent: null, caller: null, repaired: false,
});
// `caller` stays null: the server's spans were settled before the agent's arrived (the hop is still seen).
const serverRow = (target: string, access: string) => ({
  identity: 'files-mcp', kind: 'http', target, access, failed: false, retry: false, agent: null, caller: null, repaired: false,
});

describe('MCP client and server + Traceloop MCP instrumentation', () => {
  it('tool calls, the delegation into the server identity, and the server’s own calls', async () => {
    const { t, api: storage } = env;
    const otel = agentTelemetry(t, 'http/json', agentResource(AGENT));
    new McpInstrumentation().manuallyInstrument({ Client });
    const client = new Client({ name: 'support-agent', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl)));
    // The scripted plan: what a model would ask for, in order.
    for (const [name, file] of [['read_file', 'report.txt'], ['delete_file', 'old.txt']]) {
      const result = await client.callTool({ name, arguments: { name: file } });
      expect(result.isError).toBeFalsy();
    }
    // The server's spans reach Vigil first (it exports every 50 ms; the agent flushes at the end), so the
    // agent's tools, settled later, take the class of what the server did (a callee exported after its
    // caller's trace was emitted cannot change that emitted tool any more).
    const serverLines = await stopServer();
    await waitFor(() => t.actions.filter((a) => a.identity === SERVER).length >= 2, 'the server’s actions');
    await client.close(); // ends the `mcp.client.session` span that parents every request
    await otel.finish();
    expect(storage.requests).toEqual(['GET /files/report.txt', 'DELETE /files/old.txt']);

    const actions = await finalActions(t, [AGENT, SERVER]);
    const summary = summarize(actions);
    // Every MCP request (initialize, the notification, both tool calls) crossed into the server.
    const hops = summary.filter((a) => a.kind === 'delegation');
    expect(hops.length).toBeGreaterThanOrEqual(3);
    for (const h of hops) expect(h).toEqual(agentRow('delegation', 'files-mcp', null));
    // The MCP transport's own parentless requests (the `initialized` notification, the event stream) run
    // in no span: they are the agent's HTTP calls to the server, attributed to no tool (they outlive it).
    const transport = summary.filter((a) => a.target === '127.0.0.1/mcp');
    expect(transport.map((a) => [a.kind, a.access, a.repaired])).toEqual(expect.arrayContaining([['http', 'write', false]]));
    expect(summary.filter((a) => a.kind !== 'delegation' && a.target !== '127.0.0.1/mcp')).toEqual(
      [
        agentRow('tool', 'delete_file', 'delete'), // through the server's DELETE
        agentRow('tool', 'read_file', 'read'),
        // File names are not id-like: each file is its own target.
        serverRow('127.0.0.1/files/old.txt', 'delete'),
        serverRow('127.0.0.1/files/report.txt', 'read'),
      ].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    );
    // One trace per tool call holds both identities.
    const del = actions.find((a) => a.target === 'delete_file')!;
    expect(actions.find((a) => a.identity === SERVER && a.access === 'delete')!.traceId).toBe(del.traceId);
    keepFixture('mcp', [...serverLines, ...otel.tee.lines], summary); // in the order Vigil received them
  });
});
