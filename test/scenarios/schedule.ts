/**
 * When tasks happen: a diurnal and weekly rhythm (busy by day, quiet at night, quieter at weekends),
 * benign bursts, and the coverage walks that make sure every tool, target and transition an identity
 * will ever use benignly is seen during its learning period — the contract's "rare-but-seen" premise
 * (a tool the identity has truly never used is, by definition, drift).
 */
import type { RoleSpec } from './fleet.js';
import type { Rng } from './prng.js';

import { HOUR } from './units.js';

/** Relative activity per UTC hour of a weekday, 1 at the busiest. */
const HOURLY = [
  0.12, 0.1, 0.1, 0.1, 0.12, 0.18, 0.3, 0.55, 0.85, 1, 1, 1,
  0.95, 1, 1, 1, 0.95, 0.8, 0.6, 0.45, 0.35, 0.28, 0.2, 0.15,
];
const WEEKEND = 0.3;

/** Activity (0..1) of a role at an event time: its night floor keeps bots ticking over at night. */
export function activity(role: RoleSpec, ms: number): number {
  const d = new Date(ms);
  const h = HOURLY[d.getUTCHours()];
  const day = d.getUTCDay();
  const weekly = day === 0 || day === 6 ? WEEKEND : 1;
  return (role.nightFloor + (1 - role.nightFloor) * h) * weekly;
}

/** A benign burst: this identity runs `factor` times its usual rate for an hour, with its usual mix. */
export interface Burst {
  identity: string;
  startMs: number;
  endMs: number;
  factor: number;
}

/** Task start times for one identity: a Poisson process per hour at its role's rate and rhythm. */
export function taskTimes(rng: Rng, role: RoleSpec, perHour: number, fromMs: number, toMs: number, bursts: Burst[]): number[] {
  const out: number[] = [];
  for (let h = Math.floor(fromMs / HOUR) * HOUR; h < toMs; h += HOUR) {
    let mean = perHour * activity(role, h);
    for (const b of bursts) if (h >= b.startMs && h < b.endMs) mean *= b.factor;
    const n = rng.poisson(mean);
    for (let i = 0; i < n; i++) {
      const t = Math.floor(h + rng.next() * HOUR);
      if (t >= fromMs && t < toMs) out.push(t);
    }
  }
  return out.sort((a, b) => a - b);
}

/** Shortest chain paths, as state lists, from `start` to each state (BFS over non-zero edges). */
function pathsFromStart(chain: RoleSpec['chain']): Map<string, string[]> {
  const paths = new Map<string, string[]>([['start', []]]);
  const queue = ['start'];
  while (queue.length) {
    const s = queue.shift()!;
    for (const [next, w] of chain[s] ?? []) {
      if (w <= 0 || next === 'end' || paths.has(next)) continue;
      paths.set(next, [...paths.get(s)!, next]);
      queue.push(next);
    }
  }
  return paths;
}

/** Shortest continuation from a state to `end` (states after it, not including it). */
function pathToEnd(chain: RoleSpec['chain'], from: string): string[] {
  const prev = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length) {
    const s = queue.shift()!;
    for (const [next, w] of chain[s] ?? []) {
      if (w <= 0) continue;
      if (next === 'end') {
        const out: string[] = [];
        for (let x = s; x !== from; x = prev.get(x)!) out.unshift(x);
        return out;
      }
      if (!seen.has(next)) {
        seen.add(next);
        prev.set(next, s);
        queue.push(next);
      }
    }
  }
  return [];
}

/**
 * Walks that between them take every edge of the role's chain (start edges and end edges included):
 * for each edge a→b, the shortest way to a, then b, then the shortest way out.
 */
export function coverageWalks(role: RoleSpec): string[][] {
  const chain = role.chain;
  const toState = pathsFromStart(chain);
  const walks = new Map<string, string[]>();
  for (const [from, edges] of Object.entries(chain)) {
    const prefix = toState.get(from);
    if (!prefix) continue;
    for (const [to, w] of edges) {
      if (w <= 0) continue;
      const walk = to === 'end' ? prefix : [...prefix, to, ...pathToEnd(chain, to)];
      if (walk.length) walks.set(walk.join('>'), walk);
    }
  }
  return [...walks.values()];
}
