/**
 * Trust zones and sensitivity (CONTRACT §3 "Zones and sensitivity"). `zones` maps zone names to host
 * globs and CIDRs, tried in config order, first match wins, `external` otherwise; `sensitive` names the
 * zones, tools and targets whose reads are sensitive. Everything is compiled once per config.
 */
import type { Config } from '../config/schema.js';
import { compileGlob, firstMatch, type Glob } from './glob.js';
import { Memo } from '../collections/memo.js';

/** The zone of a destination that matches no configured zone. */
export const EXTERNAL_ZONE = 'external';

/** An IP network; v4 addresses are held as 2 x 16-bit groups so v4 and v6 share one comparison. */
interface Cidr {
  groups: number[];
  prefix: number;
}

type Matcher = { glob: Glob; cidr: null } | { glob: null; cidr: Cidr };

/** Parses an IPv4 literal into two 16-bit groups, or null. */
function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    bytes.push(n);
  }
  return [(bytes[0] << 8) | bytes[1], (bytes[2] << 8) | bytes[3]];
}

/** Parses an IPv6 literal (with `::` and an optional dotted-quad tail) into eight 16-bit groups. */
function parseV6(s: string): number[] | null {
  if (!s.includes(':')) return null;
  const zone = s.indexOf('%'); // fe80::1%eth0: the interface is not part of the address.
  if (zone >= 0) s = s.slice(0, zone);
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const side = (text: string): number[] | null => {
    if (text === '') return [];
    const out: number[] = [];
    const parts = text.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (!v4) return null;
        out.push(v4[0], v4[1]);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = side(halves[0]);
  const tail = halves.length === 2 ? side(halves[1]) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** Parses `addr/prefix` (v4 or v6), or null when the entry is not a CIDR (then it is a glob). */
export function parseCidr(entry: string): Cidr | null {
  const slash = entry.indexOf('/');
  if (slash < 0 || !/^\d{1,3}$/.test(entry.slice(slash + 1))) return null;
  const prefix = Number(entry.slice(slash + 1));
  const addr = entry.slice(0, slash);
  const v4 = parseV4(addr);
  if (v4) return prefix <= 32 ? { groups: v4, prefix } : null;
  const v6 = parseV6(addr);
  return v6 && prefix <= 128 ? { groups: v6, prefix } : null;
}

function inCidr(groups: number[], cidr: Cidr): boolean {
  if (groups.length !== cidr.groups.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((groups[i] & mask) !== (cidr.groups[i] & mask)) return false;
  }
  return true;
}

/** The groups of an IP literal host (v4, v6, bracketed v6), or null for a name. */
function ipGroups(host: string): number[] | null {
  const c = host.charCodeAt(0);
  if (c === 91 /* [ */) return parseV6(host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : undefined));
  if (c >= 48 && c <= 57) {
    const v4 = parseV4(host);
    if (v4) return v4;
  }
  return host.includes(':') ? parseV6(host) : null;
}

/** Maps a destination host to its zone. */
export interface ZoneMap {
  zoneOf(host: string): string;
}

/** Compiles `config.zones` (config order, first match wins, `external` when none does). */
export function compileZones(config: Config): ZoneMap {
  const rules: Array<{ zone: string; matchers: Matcher[] }> = [];
  for (const [zone, entries] of Object.entries(config.zones)) {
    const matchers: Matcher[] = entries.map((e) => {
      const cidr = parseCidr(e.trim());
      return cidr ? { glob: null, cidr } : { glob: compileGlob(e.trim()), cidr: null };
    });
    rules.push({ zone, matchers });
  }
  const memo = new Memo<string>(4096);
  const zoneOf = (host: string): string => {
    const cached = memo.get(host);
    if (cached !== undefined) return cached;
    let h = host.toLowerCase();
    if (h.endsWith('.')) h = h.slice(0, -1); // `vault.internal.` is the same name as `vault.internal`
    const ip = ipGroups(h);
    // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is also tested against v4 networks.
    const mapped =
      ip && ip.length === 8 && ip[5] === 0xffff && ip[0] + ip[1] + ip[2] + ip[3] + ip[4] === 0 ? [ip[6], ip[7]] : null;
    let found = EXTERNAL_ZONE;
    outer: for (const rule of rules) {
      for (const m of rule.matchers) {
        const hit = m.cidr
          ? ip !== null && (inCidr(ip, m.cidr) || (mapped !== null && inCidr(mapped, m.cidr)))
          : m.glob.test(h);
        if (hit) {
          found = rule.zone;
          break outer;
        }
      }
    }
    memo.set(host, found);
    return found;
  };
  return { zoneOf };
}

/** What `config.sensitive` marks: zones by name, tools and targets by glob. */
export interface SensitiveRules {
  zone(zone: string | null): boolean;
  tool(name: string): boolean;
  target(target: string): boolean;
}

/** Compiles `config.sensitive`. */
export function compileSensitive(config: Config): SensitiveRules {
  const zones = new Set(config.sensitive.zones);
  const tools = config.sensitive.tools.map((p) => compileGlob(p));
  const targets = config.sensitive.targets.map((p) => compileGlob(p));
  return {
    zone: (zone) => zone !== null && zones.has(zone),
    tool: (name) => firstMatch(tools, name) >= 0,
    target: (target) => firstMatch(targets, target) >= 0,
  };
}
