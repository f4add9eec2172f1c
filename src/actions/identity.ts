/**
 * Who did it: the identity and peer group of a span (CONTRACT §3), and why a span cannot be used at all.
 * The ingest worker calls `rejectReason` on every span to fill OTLP partial success; the builder calls
 * `identityOf` again per span (cheap: a few property reads), so no per-span result object is kept.
 */
import type { Config } from '../config/schema.js';
import type { DecodedSpan } from '../model.js';
import { isPayloadKey, parseAttributeSource } from './attributes.js';
import { boundName, MAX_IDENTITY_CHARS } from './bounds.js';
import type { Glob } from './glob.js';

/** Why a span is rejected (OTLP partial success `rejected_spans`), a fixed list counted in metrics. */
export const REJECT_REASONS = ['no_identity', 'identity_too_long', 'invalid_trace_id', 'invalid_span_id', 'no_start_time', 'future_start', 'identity_not_allowed', 'peer_group_not_allowed'] as const;
/** One of `REJECT_REASONS`. */
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * What a client may send (receivers.otlp.clientIdentities), compiled case-sensitively (identities and
 * peer groups are keys as sent): spans of these identities, claiming these peer groups (null: any).
 */
export interface ClientAllowance {
  identities: readonly Glob[];
  peerGroups: readonly Glob[] | null;
}

/** A compiled `identity.chain` / `identity.peerGroup`: parsed once per config, not per span. */
interface CompiledIdentity {
  chainFromSpan: boolean[];
  chainKeys: string[];
  peerFromSpan: boolean;
  peerKey: string | null;
}

const compiledByConfig = new WeakMap<Config, CompiledIdentity>();

function compile(config: Config): CompiledIdentity {
  let c = compiledByConfig.get(config);
  if (c) return c;
  const chainFromSpan: boolean[] = [];
  const chainKeys: string[] = [];
  for (const source of config.identity.chain) {
    const { fromSpan, key } = parseAttributeSource(source);
    // A payload key is never decoded (attributeFilterFor leaves it out), so it can never match.
    if (isPayloadKey(key)) continue;
    chainFromSpan.push(fromSpan);
    chainKeys.push(key);
  }
  const peer = parseAttributeSource(config.identity.peerGroup);
  c = { chainFromSpan, chainKeys, peerFromSpan: peer.fromSpan, peerKey: isPayloadKey(peer.key) ? null : peer.key };
  compiledByConfig.set(config, c);
  return c;
}

/**
 * The OpenTelemetry SDKs' placeholder `service.name` when none is set (`unknown_service`, or with the
 * process name): no name at all. As a peer group it would make every agent that forgot to set one the
 * others' peers, so it is none (review41 M6). It stays an identity: refused, such agents would go unseen
 * (review42 M2); the daemon warns of it instead (detection.ts).
 */
export function unnamed(v: string): boolean {
  return v.startsWith('unknown_service') && (v.length === 15 || v.charCodeAt(15) === 58 /* : */);
}

/**
 * The span's identity: the first non-empty string along `identity.chain`, else null. Only the chain
 * decides; a span-level `gen_ai.agent.id` names the agent *invoked*, never who is acting, and is not in
 * the default chain.
 */
export function identityOf(span: DecodedSpan, config: Config): string | null {
  const c = compile(config);
  for (let i = 0; i < c.chainKeys.length; i++) {
    const v = (c.chainFromSpan[i] ? span.attributes : span.resource)[c.chainKeys[i]];
    if (typeof v === 'string' && v !== '') return v;
  }
  return null;
}

/** The span's peer group (`identity.peerGroup`), '' when absent; a long one bounded (bounds.ts). */
export function peerGroupOf(span: DecodedSpan, config: Config): string {
  const c = compile(config);
  if (c.peerKey === null) return '';
  const v = (c.peerFromSpan ? span.attributes : span.resource)[c.peerKey];
  return typeof v === 'string' && !unnamed(v) ? boundName(v) : '';
}

/** Identity and peer group per the configured chain, or null when the span has no identity. */
export function resolveIdentity(span: DecodedSpan, config: Config): { identity: string; peerGroup: string } | null {
  const identity = identityOf(span, config);
  return identity === null ? null : { identity, peerGroup: peerGroupOf(span, config) };
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Spans starting before 2000-01-01 have no real start time (an exporter that left it unset). */
const EARLIEST_START_MS = Date.UTC(2000, 0, 1);

/**
 * Why the span cannot be used, or null when it can. Decoders turn malformed and all-zero ids into ''
 * and give lowercase hex otherwise (model.ts), so a length check is all they need (a regular expression
 * per id was 2% of the ingest worker's time); the zero ids are checked for spans built without one.
 * `identity_too_long`: over MAX_IDENTITY_CHARS (bounds.ts); an identity is a key, kept as sent or not at all.
 * `no_start_time`: the start is missing (0, 1970) or before 2000: as history it would make a new identity
 * decades old, mature at once, and forgotten as idle at every retention sweep (review40 M2).
 * `future_start`: the start is more than `time.maxFutureSkew` after `nowMs` (a skewed clock would
 * otherwise drag event time forward for its identity).
 * `identity_not_allowed`: `allowed` (the client's patterns, receivers.otlp.clientIdentities) matches
 * none of the span's identity. `peer_group_not_allowed`: its peer-group patterns, when its rule lists
 * some, match none of the span's peer group as `peerGroupOf` derives it (the configured source, bounded;
 * '' when absent, which only `*` matches): the group the baselines and the credential owners key it by,
 * not a raw attribute they might read differently.
 */
export function rejectReason(span: DecodedSpan, nowMs: number, config: Config, allowed: ClientAllowance | null = null): RejectReason | null {
  if (span.traceId.length !== 32 || span.traceId === ZERO_TRACE_ID) return 'invalid_trace_id';
  if (span.spanId.length !== 16 || span.spanId === ZERO_SPAN_ID) return 'invalid_span_id';
  const identity = identityOf(span, config);
  if (identity === null) return 'no_identity';
  if (identity.length > MAX_IDENTITY_CHARS) return 'identity_too_long';
  // A client speaking for another identity says so first, whatever its spans' times.
  if (allowed !== null) {
    if (!allowed.identities.some((g) => g.test(identity))) return 'identity_not_allowed';
    const groups = allowed.peerGroups;
    if (groups !== null) {
      const peerGroup = peerGroupOf(span, config);
      if (!groups.some((g) => g.test(peerGroup))) return 'peer_group_not_allowed';
    }
  }
  if (span.startMs < EARLIEST_START_MS) return 'no_start_time';
  if (span.startMs > nowMs + config.time.maxFutureSkew) return 'future_start';
  return null;
}
