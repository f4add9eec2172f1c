import { ActionBuilder } from '../../src/actions/builder.js';
import { configSchema } from '../../src/config/schema.js';
import type { DecodedSpan } from '../../src/model.js';

const cfg = configSchema.parse({ zones: { internal: ['*.internal', '10.0.0.0/8'], secrets: ['vault.*'] }, sensitive: { zones: ['secrets'], tools: ['*secret*'] }, catalog: [{ tool: 'tickets.*', access: 'write' }] });
let ignored = 0;
const b = new ActionBuilder(cfg, () => { ignored++; });
const res = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ 'service.name': `svc-${i}`, 'nhi.identity': `spiffe://acme/agent/${i}` }));
const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
function trace(t: number): DecodedSpan[] {
  const traceId = hex(t + 1, 32);
  const r = res[t % 8];
  const base = 1_700_000_000_000 + t;
  const mk = (id: number, parent: number, name: string, kind: number, attrs: Record<string, any>): DecodedSpan => ({
    traceId, spanId: hex(t * 16 + id, 16), parentSpanId: parent ? hex(t * 16 + parent, 16) : '', name, kind,
    startMs: base + id, endMs: base + id + 5, statusCode: 0, attributes: attrs, resource: r, scope: '' });
  return [
    mk(9, 8, 'GET', 3, { 'http.request.method': 'GET', 'url.full': `https://api.internal/users/${t}/orders?token=abc`, 'http.response.status_code': 200, 'server.address': 'api.internal' }),
    mk(8, 7, 'execute_tool lookup', 1, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup', 'gen_ai.tool.call.id': `call_${t}_1` }),
    mk(6, 5, 'POST', 3, { 'http.request.method': 'POST', 'url.full': 'https://api.openai.com/v1/chat/completions', 'server.address': 'api.openai.com' }),
    mk(5, 1, 'chat gpt-4o', 3, { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'server.address': 'api.openai.com' }),
    mk(4, 3, 'SELECT', 3, { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.collection.name': 'orders', 'db.operation.name': 'SELECT', 'server.address': '10.1.2.3' }),
    mk(3, 2, 'execute_tool tickets.create', 1, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'tickets.create', 'gen_ai.tool.call.id': `call_${t}_2` }),
    mk(7, 1, 'agent_step', 1, { 'gen_ai.operation.name': 'agent_step' }),
    mk(2, 1, 'agent_step', 1, { 'gen_ai.operation.name': 'agent_step' }),
    mk(10, 1, 'internal', 1, {}),
    mk(1, 0, 'invoke_agent billing', 1, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'billing' }),
  ];
}
const N = 40_000;
const batches: DecodedSpan[][] = [];
for (let t = 0; t < N; t += 50) { const batch: DecodedSpan[] = []; for (let k = t; k < t + 50; k++) batch.push(...trace(k)); batches.push(batch); }
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  let actions = 0; let spans = 0;
  for (const batch of batches) { b.add(batch, 0); spans += batch.length; actions += b.take(0).length; }
  actions += b.drain().length;
  const ms = performance.now() - t0;
  console.log(`round ${round}: ${spans} spans, ${actions} actions in ${ms.toFixed(0)} ms = ${(spans / ms * 1000 / 1000).toFixed(0)}k spans/s; ignored ${ignored}`);
}
