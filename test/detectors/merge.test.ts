/** Findings about one step merged into one (src/detect/merge.ts). */
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../../src/actions/types.js';
import { mergeFindings, type Reported } from '../../src/detect/merge.js';

const finding = (over: Partial<Finding>): Finding => ({
  detector: 'lateral_chaining', severity: 'high', surprise: 0.9, subject: 's', title: 't', explanation: 'e',
  traceIds: ['a'], spanIds: ['1'], details: {}, tags: [], ...over,
});
const reported = (f: Finding): Reported => ({ f, action: {} as Action, identity: 'spiffe://t/a' });

describe('merging findings about one step', () => {
  const transition = reported(finding({ subject: 'tool:alerts.list -> tool:github.push', title: 'Unlearned chain alerts.list -> github.push', explanation: 'Went from alerts.list to github.push.', details: { rule: 'transition' }, traceIds: ['t2'], spanIds: ['s1', 's2'] }));
  const flow = reported(finding({ subject: 'vault.read => pastebin.com', title: 'Sensitive read then egress to pastebin.com', explanation: 'Read vault.read, then sent to pastebin.com.', details: { rule: 'sensitive_egress' }, traceIds: ['t1', 't2'], spanIds: ['s0', 's3'] }));

  it('the more severe leads, the evidence of both is kept', () => {
    const low = reported(finding({ severity: 'medium', subject: 'low' }));
    const merged = mergeFindings(low, transition);
    expect(merged.f.subject).toBe(transition.f.subject);
    expect(merged.f.spanIds).toEqual(['s1', 's2', '1']);
  });

  // Regression (review19 F16a): on a tie the step's transition led, and the secret read behind the egress
  // vanished from the alert, which then folded on the transition.
  it('on a tie, a sensitive flow leads, whichever came first', () => {
    for (const [x, y] of [[transition, flow], [flow, transition]]) {
      const merged = mergeFindings(x, y);
      expect(merged.f.subject).toBe('vault.read => pastebin.com');
      expect(merged.f.traceIds.sort()).toEqual(['t1', 't2']);
      expect(merged.f.spanIds.sort()).toEqual(['s0', 's1', 's2', 's3']);
      // Review27 L4: the chain's spans and allow items are in the alert, so its text names the chain too.
      expect(merged.f.explanation).toBe('Read vault.read, then sent to pastebin.com. The same step also shows unlearned chain alerts.list -> github.push.');
    }
  });

  it("a scope_drift step's more significant new item leads on a tie (a new tool's call to a new host: the host), and every item and allow item is kept", () => {
    const tool = reported(finding({ detector: 'scope_drift', severity: 'medium', subject: 'tool:summarize', details: { newItems: [{ dimension: 'tool', item: 'summarize' }] } }));
    const host = reported(finding({ detector: 'scope_drift', severity: 'medium', subject: 'host:paste.evil.example', details: { newItems: [{ dimension: 'host', item: 'paste.evil.example' }] } }));
    const merged = mergeFindings(tool, host);
    expect(merged.f.subject).toBe('host:paste.evil.example');
    expect(merged.f.details.newItems).toEqual([{ dimension: 'host', item: 'paste.evil.example' }, { dimension: 'tool', item: 'summarize' }]);
    const write = (item: string) => reported(finding({ detector: 'unexpected_write', subject: item, details: { allow: [{ dimension: 'access', item: `${item}|delete` }] } }));
    expect(mergeFindings(write('crm.search'), write('crm.internal/x')).f.details.allow).toEqual([
      { dimension: 'access', item: 'crm.search|delete' }, { dimension: 'access', item: 'crm.internal/x|delete' },
    ]);
  });
});
