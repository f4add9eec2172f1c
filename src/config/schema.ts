/**
 * The configuration schema: every key, its type, its default. This file is the one place defaults live;
 * `config.yaml` documents the same keys for operators. Objects are strict, so a misspelt key is an error
 * naming its path instead of a silently ignored setting.
 */
import { z } from 'zod';
import { ALERT_SOURCES, DETECTOR_IDS } from '../../detectors/types.js';
import { crossChecks } from './cross-checks.js';
import { accessClass, apiToken, attributeSource, detectorList, duration, endpoint, httpUrl, nonEmpty, positiveInt, SEVERITIES, severity, targetGlob, whsecSecret, zonePattern } from './fields.js';

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
        targets: z.array(targetGlob).default([]),
      })
      .prefault({}),
    // Targets that are one target, the glob as written: objects named by slugs (review38 H1).
    templates: z.array(targetGlob).default([]),
    // A tool's class, or (review38 M5) a call's by its target: a vector search or GraphQL query is a POST
    // that only reads, which the method alone makes a write.
    catalog: z
      .array(
        z
          .strictObject({ tool: nonEmpty.optional(), target: targetGlob.optional(), access: accessClass })
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
