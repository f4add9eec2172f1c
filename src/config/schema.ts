/**
 * The configuration schema: every key, its type, its default. This file is the one place defaults live;
 * `config.yaml` documents the same keys for operators. Objects are strict, so a misspelt key is an error
 * naming its path instead of a silently ignored setting.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ALERT_SOURCES, DETECTOR_IDS } from '../../detectors/types.js';
import { ACCESS_CLASSES } from '../actions/types.js';
import { crossChecks } from './cross-checks.js';
import { splitEndpoint } from './endpoint.js';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A schema-level message for a value of the wrong type that still lets a *missing* value fall through to
 * the loader's plain "is required": without it `url: 5` would say "expected string, received number" and
 * a missing `url` would claim to be a malformed URL.
 */
const unlessMissing =
  (message: string) =>
  (issue: { input?: unknown }): string | undefined =>
    issue.input === undefined ? undefined : message;

const DURATION_MESSAGE = 'must be a duration such as 250ms, 5s, 5m, 12h or 7d';

/**
 * A duration such as `250ms`, `5s`, `5m`, `12h`, `7d`, parsed to milliseconds. Exported so the loader
 * can find duration keys by walking the schema and print them back in this form (`check-config`).
 */
export const duration = z
  .string({ error: unlessMissing(DURATION_MESSAGE) })
  .regex(DURATION, DURATION_MESSAGE)
  .transform((s) => {
    const [, n, unit] = DURATION.exec(s)!;
    return Number(n) * UNIT_MS[unit];
  });


/** Formats milliseconds back into the largest unit that divides them evenly: 300000 -> `5m`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

const nonEmpty = z.string().min(1, 'must not be empty');

const ENDPOINT_MESSAGE = 'must be host:port, e.g. 127.0.0.1:4317';
/** `host:port`, IPv6 hosts in brackets; port 0 asks the OS for a free port (tests use it). */
const endpoint = z
  .string({ error: unlessMissing(ENDPOINT_MESSAGE) })
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d+$/, ENDPOINT_MESSAGE)
  // Checked apart from the shape so `host:70000` gets one line saying what is wrong, not two.
  .refine((s) => !/:\d+$/.test(s) || Number(splitEndpoint(s).port) <= 65535, 'port must be at most 65535');

const positiveInt = z.number().int('must be a whole number').positive('must be greater than 0');

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const severity = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` });

const accessClass = z.enum(ACCESS_CLASSES, { error: `must be one of ${ACCESS_CLASSES.join(', ')}` });

/** Where to find a value on a span: `span:<attribute>` or `resource:<attribute>`. */
const attributeSource = z
  .string()
  .regex(/^(span|resource):.+$/, 'must be span:<attribute> or resource:<attribute>');

/**
 * An http(s) URL; other schemes cannot be delivered to. No `user:password@`: fetch refuses such a URL
 * (nothing would ever be delivered), and a password in a URL ends up in logs and error rows.
 */
const httpUrl = z
  .url({ protocol: /^https?$/, error: unlessMissing('must be an http(s) URL, e.g. http://127.0.0.1:9000/hook') })
  .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'must not carry credentials (user:password@): deliveries are authenticated by their signature or token');

/** The shortest webhook signing key (bytes): Standard Webhooks asks for 24 to 64; a short HMAC key is guessed from one delivery. */
const MIN_WHSEC_BYTES = 24;

/**
 * `whsec_` and the key in base64 (standard alphabet, padded), as Standard Webhooks libraries read it: a
 * secret they cannot decode would let no receiver verify a delivery, and an empty key authenticates nothing.
 */
const whsecSecret = z
  .string()
  .startsWith('whsec_', 'must start with whsec_')
  .refine((s) => !s.startsWith('whsec_') || /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(s.slice(6)), {
    message: 'must be whsec_ followed by the key in padded base64, e.g. whsec_ and the output of openssl rand -base64 32',
    abort: true,
  })
  .refine((s) => !s.startsWith('whsec_') || Buffer.from(s.slice(6), 'base64').length >= MIN_WHSEC_BYTES, {
    message: `the key must be at least ${MIN_WHSEC_BYTES} bytes (Standard Webhooks), e.g. whsec_ and the output of openssl rand -base64 32`,
  });

/** Which detectors a webhook or a revocation rule is for: `*` or their ids (a misspelt id would match nothing, silently). */
const detectorList = (ids: readonly string[]) =>
  z.array(z.string().refine((d) => d === '*' || ids.includes(d), `must be * or one of ${ids.join(', ')}`)).default(['*']);

/**
 * A zone pattern: a host glob, or a CIDR. A malformed CIDR would otherwise be taken for a host glob that
 * never matches, silently putting that network in zone `external`.
 */
const zonePattern = nonEmpty.refine((p) => {
  if (/\s/.test(p)) return false;
  if (!p.includes('/')) return true;
  const [addr, bits, ...rest] = p.split('/');
  const family = isIP(addr);
  return rest.length === 0 && family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, 'must be a host glob such as *.internal or a CIDR such as 10.0.0.0/8');

/** The API token; exported so the loader holds `VIGIL_API_TOKEN` to the same rule as `api.token`. */
export const apiToken = z
  .string()
  .min(16, 'must be at least 16 characters')
  // The example config.yaml shows, copied as is: anyone who has read the file knows it.
  .refine((t) => t !== 'change-me-to-a-long-random-string', 'is the example from config.yaml: use a random one, e.g. openssl rand -base64 32')
  // A bearer token is one word: one with a space or a newline in it could never be presented.
  .regex(/^\S+$/, 'must not contain spaces or line breaks');

/**
 * A listener's TLS (src/tls.ts): PEM certificate and key files, and optionally the CA whose client
 * certificates alone are accepted (mutual TLS). Paths are relative to the config file's folder.
 */
const tls = z.strictObject({ cert: nonEmpty, key: nonEmpty, clientCa: nonEmpty.optional() }).optional();

const receiverEndpoint = (defaultEndpoint: string) =>
  z.strictObject({
    enabled: z.boolean().default(true),
    endpoint: endpoint.default(defaultEndpoint),
    tls,
  });

const webhook = z.strictObject({
  url: httpUrl,
  secret: whsecSecret,
  minSeverity: severity.default('low'),
  detectors: detectorList(ALERT_SOURCES),
});

const revocationRule = z.strictObject({
  // Not telemetry_integrity: those alerts name a claim Vigil refused, nothing to revoke on.
  detectors: detectorList(DETECTOR_IDS),
  minSeverity: severity.default('critical'),
  credentialTypes: z.array(z.string()).default(['*']),
  broker: nonEmpty,
});

const broker = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ name: nonEmpty, type: z.literal('webhook'), url: httpUrl, secret: whsecSecret }),
    z.strictObject({ name: nonEmpty, type: z.literal('vault'), address: httpUrl, token: nonEmpty }),
    z.strictObject({
      name: nonEmpty,
      type: z.literal('ssf'),
      url: httpUrl,
      issuer: nonEmpty,
      audience: nonEmpty,
      /** A file path; the loader resolves it against the config file's folder. */
      signingKey: nonEmpty,
      authorization: z.string().optional(),
    }),
  ],
  {
    // Only the union's own issue (an unknown or missing `type`, reported at `.type`) gets this message;
    // a broker that is not a mapping at all falls through to the loader's "must be a mapping".
    error: (issue) =>
      issue.code !== 'invalid_union'
        ? undefined
        : (issue.input as { type?: unknown } | undefined)?.type === undefined
          ? 'is required: one of webhook, vault, ssf'
          : 'must be one of webhook, vault, ssf',
  },
);

export const configSchema = z
  .strictObject({
    receivers: z
      .strictObject({
        otlp: z
          .strictObject({
            grpc: receiverEndpoint('127.0.0.1:4317').prefault({}),
            http: receiverEndpoint('127.0.0.1:4318').prefault({}),
            /** Largest request accepted, in bytes, measured after decompression (CONTRACT §2). */
            maxRequestBytes: positiveInt.default(16 * 1024 * 1024),
            /** Time a client has to send a whole request; a slower one is refused (408 / DEADLINE_EXCEEDED). */
            requestTimeout: duration.prefault('2m'),
            /**
             * When set, exporters must send `Authorization: Bearer <token>` (401 / UNAUTHENTICATED
             * otherwise): without it, anyone who reaches a receiver can speak for any identity.
             */
            token: apiToken.optional(),
            /**
             * With client certificates (`tls.clientCa` on every enabled receiver): which identities each
             * client may send spans for, and which peer groups they may claim (receiver/client-identities.ts).
             * Absent: any; a rule without `peerGroups`: any peer group.
             */
            clientIdentities: z
              .array(
                z.strictObject({
                  client: nonEmpty,
                  identities: z.array(nonEmpty).min(1, 'must list at least one identity pattern'),
                  // An empty list would refuse every span: a mistake, not a setting (leave the key out for any).
                  peerGroups: z.array(nonEmpty).min(1, 'must list at least one peer group pattern (leave the key out to allow any)').optional(),
                }),
              )
              .optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    ingest: z
      .strictObject({
        /** Spans waiting to be turned into actions; past this the receivers shed load (429/503/UNAVAILABLE). */
        queueSpans: positiveInt.default(262_144),
        /** Bytes of exports waiting likewise: spans carrying large payloads (prompts) fill memory first. */
        queueBytes: positiveInt.default(256 * 1024 * 1024),
        /** What `Retry-After` / RetryInfo tells a client to wait when the queue is full. */
        retryAfter: duration.prefault('1s'),
      })
      .prefault({}),
    api: z
      .strictObject({
        endpoint: endpoint.default('127.0.0.1:8790'),
        token: apiToken.optional(),
        metricsPublic: z.boolean().default(false),
        tls,
      })
      .prefault({}),
    storage: z
      .strictObject({
        /** A file path (resolved against the config file's folder) or `:memory:`. */
        path: nonEmpty.default('data/vigil.db'),
        /** Longest an export waits for the group commit that makes it durable before it is acknowledged. */
        flushInterval: duration.prefault('25ms'),
      })
      .prefault({}),
    time: z
      .strictObject({
        lateness: duration.prefault('5m'),
        maxFutureSkew: duration.prefault('5m'),
      })
      .prefault({}),
    identity: z
      .strictObject({
        /** Tried in order; the first present, non-empty value is the identity (CONTRACT §3). */
        chain: z
          .array(attributeSource)
          .min(1, 'must name at least one attribute')
          .default(['span:nhi.identity', 'resource:nhi.identity', 'resource:gen_ai.agent.id', 'resource:service.name']),
        peerGroup: attributeSource.default('resource:service.name'),
      })
      .prefault({}),
    traces: z
      .strictObject({
        /** How long a trace's spans are held for late children before its actions are emitted. */
        wait: duration.prefault('2s'),
        /** Traces held at once; past this the oldest is emitted with what it has. */
        maxTraces: positiveInt.default(50_000),
        maxSpansPerTrace: positiveInt.default(2_000),
      })
      .prefault({}),
    zones: z.record(z.string(), z.array(zonePattern)).default({}),
    sensitive: z
      .strictObject({
        zones: z.array(z.string()).default([]),
        tools: z.array(z.string()).default([]),
        targets: z.array(z.string()).default([]),
      })
      .prefault({}),
    // Targets that are one target, the glob as written: objects named by slugs (review38 H1).
    templates: z.array(nonEmpty).default([]),
    // A tool's class, or (review38 M5) a call's by its target: a vector search or GraphQL query is a POST
    // that only reads, which the method alone makes a write.
    catalog: z
      .array(
        z
          .strictObject({ tool: nonEmpty.optional(), target: nonEmpty.optional(), access: accessClass })
          .refine((e) => (e.tool === undefined) !== (e.target === undefined), 'give either tool or target (a glob), not both'),
      )
      .default([]),
    webhooks: z.array(webhook).default([]),
    delivery: z
      .strictObject({
        /** Longest one webhook or broker request may take before it counts as a failed attempt. */
        timeout: duration.prefault('10s'),
        /** Requests in flight at once per webhook endpoint or broker (one while it is failing). */
        concurrency: positiveInt.default(4),
        /** Backoff after a failed attempt: a random wait up to retryInitial * 2^(failures-1), capped at retryMax. */
        retryInitial: duration.prefault('1s'),
        retryMax: duration.prefault('10m'),
      })
      .prefault({}),
    revocation: z
      .strictObject({
        mode: z.enum(['dry_run', 'enforce'], { error: 'must be dry_run or enforce' }).default('dry_run'),
        rules: z.array(revocationRule).default([]),
        brokers: z.array(broker).default([]),
      })
      .prefault({}),
    baselines: z
      .strictObject({
        /** Actions an identity needs before it is judged against itself (CONTRACT §4: at most 300). */
        minActions: positiveInt.default(300),
        /** Event time an identity needs before it is judged against itself (CONTRACT §4: at most 48h). */
        minAge: duration.prefault('24h'),
        /** Old behaviour fades: a count halves after this much event time without use. */
        halfLife: duration.prefault('14d'),
        /**
         * A member that has not acted for this much event time leaves its peer group: it stops counting in
         * the group's size (rollouts) and among the users of its items. Short-lived instances come and go.
         */
        peerIdleAfter: duration.prefault('7d'),
        /**
         * An identity with no action for this much event time is forgotten: its record and baseline are
         * deleted (a fleet of short-lived instances must not grow the store without end).
         */
        forgetIdleAfter: duration.prefault('90d'),
        /**
         * Identities kept in the store: over it, the least recently active are forgotten too (an identity
         * per run must not fill the disk within forgetIdleAfter). Each costs ~4 KB on disk, measured.
         */
        maxIdentities: positiveInt.default(500_000),
        /** How often learned state is written to SQLite (a kill -9 loses at most this much learning). */
        checkpointInterval: duration.prefault('5s'),
        /** Identity baselines kept in memory; colder ones are read back from SQLite when next active. */
        maxHotIdentities: positiveInt.default(20_000),
        /**
         * Peer groups and their members stay in memory. Over either bound the least recently active
         * members of the largest groups (or the smallest groups) leave early, as if idle: an identity per run or a `service.name` per pod
         * must not grow memory without end. Measured: ~0.6 KB a member, ~12 KB a one-pod group.
         */
        maxPeerMembers: positiveInt.default(100_000),
        maxPeerGroups: positiveInt.default(10_000),
      })
      .prefault({}),
    detectors: z
      .strictObject({
        scope_drift: z
          .strictObject({
            enabled: z.boolean().default(true),
            /** A new, non-sensitive tool or target waits this long for peers adopting it too (a rollout). */
            rolloutGrace: duration.prefault('1h'),
            /** Share of the peer group that must adopt an item within rolloutWindow for it to be a rollout. */
            rolloutShare: z.number().min(0, 'must be a share from 0 to 1').max(1, 'must be a share from 0 to 1').default(0.3),
            rolloutWindow: duration.prefault('24h'),
          })
          .prefault({}),
        lateral_chaining: z
          .strictObject({
            enabled: z.boolean().default(true),
            /** How long a sensitive read is remembered when looking for egress across the identity's traces. */
            window: duration.prefault('10m'),
          })
          .prefault({}),
        retry_storm: z
          .strictObject({
            enabled: z.boolean().default(true),
            /** The sliding event-time window failures and retries are counted in. */
            window: duration.prefault('5m'),
            /** Fewest failures + retries in the window that can be a storm. */
            minEvents: positiveInt.default(10),
            /** A longer window, where a loop too slow to reach minEvents in `window` still adds up. */
            sustainedWindow: duration.prefault('1h'),
            /** Fewest failures + retries in `sustainedWindow` that can be a storm. */
            sustainedMinEvents: positiveInt.default(30),
            /** How many standard deviations above the identity's usual failure share a storm must be. */
            zScore: z.number().positive().default(6),
          })
          .prefault({}),
        unexpected_write: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
      })
      .prefault({}),
    alerts: z
      .strictObject({
        /** Findings for the same identity, detector and subject within this window fold into one alert. */
        suppressionWindow: duration.prefault('1h'),
        /**
         * Alerts whose event is older than this (event time) are deleted, so the store does not grow
         * without end; the SOC's SIEM, fed by the webhooks, is the record of longer.
         */
        retention: duration.prefault('365d'),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
            error: 'must be one of fatal, error, warn, info, debug, trace, silent',
          })
          .default('info'),
      })
      .prefault({}),
  })
  // Cross-references between sections. Zod runs this only once every field is valid, so these problems
  // surface after the field-level ones are fixed; the checks can then trust the shapes they read.
  .superRefine(crossChecks);

/** The validated, defaulted configuration (durations in ms, paths resolved by the loader). */
export type Config = z.output<typeof configSchema>;
export type Severity = (typeof SEVERITIES)[number];
