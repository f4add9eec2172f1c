/**
 * Builds the fleet for one scenario: identities per role (scaled), the flaky ones, the instances that
 * join mid-run, and the fixed caller → callee pairings for delegation and MCP.
 */
import { FLAKY, ROLES, identityId, type Identity, type RoleSpec } from './fleet.js';
import type { Rng } from './prng.js';
import type { World } from './tasks.js';

/** Smallest sensible count per role when the fleet is scaled down (rollout needs a group to adopt). */
const MIN_COUNT: Record<string, number> = {
  'support-agent': 5, 'billing-agent': 3, 'devops-bot': 3, 'research-agent': 3, 'reporting-agent': 3, 'docs-agent': 3, 'mcp-github': 1, 'mcp-fetch': 1,
};

export interface Fleet extends World {
  identities: Identity[];
  /** The original fleet (present from the first hour), callees are drawn from these. */
  original: Identity[];
  add(role: RoleSpec, joinMs: number): Identity;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function makeFleet(rng: Rng, fleetScale: number, startMs: number): Fleet {
  const identities: Identity[] = [];
  const byRole = new Map<string, Identity[]>();
  const nextIndex = new Map<string, number>();

  const add = (role: RoleSpec, joinMs: number, flaky = false): Identity => {
    const index = (nextIndex.get(role.role) ?? 0) + 1;
    nextIndex.set(role.role, index);
    const id = identityId(role, index);
    const who: Identity = {
      id, name: `${role.role}-${index}`, role, index, joinMs,
      activity: rng.range(0.75, 1.25),
      flaky: flaky ? FLAKY[role.role] : undefined,
      resource: {
        identity: id, peerGroup: role.role,
        attrs: {
          'service.name': role.role, 'service.instance.id': `${role.role}-${index}`, 'nhi.identity': id,
          'deployment.environment.name': 'prod', 'telemetry.sdk.language': 'nodejs', 'telemetry.sdk.name': 'opentelemetry',
        },
      },
    };
    identities.push(who);
    if (!byRole.has(role.role)) byRole.set(role.role, []);
    byRole.get(role.role)!.push(who);
    return who;
  };

  for (const role of ROLES) {
    const n = Math.max(MIN_COUNT[role.role] ?? 1, Math.round(role.count * fleetScale));
    for (let i = 1; i <= n; i++) add(role, startMs, i === n && FLAKY[role.role] !== undefined);
  }
  const original = identities.slice();
  const originalByRole = new Map<string, Identity[]>();
  for (const who of original) {
    if (!originalByRole.has(who.role.role)) originalByRole.set(who.role.role, []);
    originalByRole.get(who.role.role)!.push(who);
  }

  return {
    identities, original, byRole,
    add: (role, joinMs) => add(role, joinMs),
    callee(caller, role) {
      const list = originalByRole.get(role)!;
      return list[fnv(caller.id) % list.length];
    },
  };
}
