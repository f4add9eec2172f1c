/** Merging findings about one step: a tool call and the calls it made are one thing to an analyst. */
import { severityRank } from '../../detectors/severity.js';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../actions/types.js';

export interface Reported {
  f: Finding;
  action: Action;
  identity: string;
}

/** Two findings of one detector about one step: the more severe leads, the evidence is combined. */
export function mergeFindings(x: Reported, y: Reported): Reported {
  // On a tie the earlier finding leads: the tool itself, rather than a call it made — unless the later one
  // is a sensitive flow (a secret read, then sent out): that is what the analyst must see, and what the
  // alert folds on, not the step that happened to carry it.
  const rank = (r: Reported) => severityRank(r.f.severity) * 2 + (r.f.details.rule === 'sensitive_egress' ? 1 : 0);
  const [lead, other] = rank(y) > rank(x) ? [y, x] : [x, y];
  const union = (p: string[], q: string[]) => [...new Set([...p, ...q])];
  const f: Finding = { ...lead.f, traceIds: union(lead.f.traceIds, other.f.traceIds), spanIds: union(lead.f.spanIds, other.f.spanIds) };
  const items = (r: Reported) => (r.f.details.newItems as Array<{ dimension: string; item: string }> | undefined) ?? [];
  if (items(lead).length || items(other).length) {
    const seen = new Set<string>();
    f.details = { ...lead.f.details, newItems: [...items(lead), ...items(other)].filter((i) => !seen.has(i.dimension + i.item) && seen.add(i.dimension + i.item)) };
  }
  return { ...lead, f };
}
