/** Merging findings about one step: a tool call and the calls it made are one thing to an analyst. */
import { subjectSignificance } from '../../detectors/scope-drift.js';
import { severityRank } from '../../detectors/severity.js';
import { SEP, type DimensionItem } from '../../baselines/keys.js';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../actions/types.js';

export interface Reported {
  f: Finding;
  action: Action;
  identity: string;
  /** Kept apart from the step's other findings of its detector (a late step's transitions out: review47 F1). */
  apart?: string;
}

/** Two findings of one detector about one step: the more severe leads, the evidence is combined. */
/** What nearly every action yields: shared, not one array per action. */
export const NO_FINDINGS: readonly Reported[] = [];

export function mergeFindings(x: Reported, y: Reported): Reported {
  // On a tie the earlier finding leads: the tool itself, rather than a call it made — unless the later one
  // is a sensitive flow (a secret read, then sent out): that is what the analyst must see, and what the
  // alert folds on, not the step that happened to carry it.
  // A new host reached by a new tool is one scope_drift step: the host, the more significant item, leads (its
  // subject is what the alert folds on, and the rollout a held finding waits for is the host's adoption).
  const rank = (r: Reported) => severityRank(r.f.severity) * 2 + (r.f.details.rule === 'sensitive_egress' ? 1 : 0);
  const significance = (r: Reported) => (r.f.detector === 'scope_drift' ? subjectSignificance(r.f.subject) : 0);
  const yLeads = rank(y) > rank(x) || (rank(y) === rank(x) && significance(y) < significance(x));
  const [lead, other] = yLeads ? [y, x] : [x, y];
  const union = (p: string[], q: string[]) => [...new Set([...p, ...q])];
  // The other's evidence and allow items are in the alert, so its text names what it found (review27 L4: a
  // sensitive egress's alert carried an unlearned chain, in its spans and allow list, that it never mentioned).
  const also = other.f.title === lead.f.title ? '' : ` The same step also shows ${other.f.title[0].toLowerCase()}${other.f.title.slice(1)}.`;
  const f: Finding = {
    ...lead.f,
    explanation: lead.f.explanation + also,
    traceIds: union(lead.f.traceIds, other.f.traceIds),
    spanIds: union(lead.f.spanIds, other.f.spanIds),
  };
  // The items an operator allows to make the step normal are every merged finding's (a tool's delete and
  // its HTTP call's), not only the lead's: allowing what the alert names must quiet the whole step.
  for (const list of ['newItems', 'allow'] as const) {
    const items = (r: Reported) => (r.f.details[list] as DimensionItem[] | undefined) ?? [];
    if (items(lead).length === 0 && items(other).length === 0) continue;
    const seen = new Set<string>();
    f.details = { ...f.details, [list]: [...items(lead), ...items(other)].filter((i) => !seen.has(i.dimension + SEP + i.item) && seen.add(i.dimension + SEP + i.item)) };
  }
  return { ...lead, f };
}
