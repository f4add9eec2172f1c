/**
 * The configuration schema: every key, its type, its default. This file is the one place defaults live;
 * `config.yaml` documents the same keys for operators. Objects are strict, so a misspelt key is an error
 * naming its path instead of a silently ignored setting.
 */
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `250ms`, `5s`, `5m`, `12h`, `7d`, parsed to milliseconds. */
const duration = z
  .string()
  .regex(DURATION, 'must be a duration such as 250ms, 5s, 5m, 12h or 7d')
  .transform((s) => {
    const [, n, unit] = DURATION.exec(s)!;
    return Number(n) * UNIT_MS[unit];
  });

/** `host:port`, IPv6 hosts in brackets; port 0 asks the OS for a free port (tests use it). */
const endpoint = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:4317')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

const positiveInt = z.number().int('must be a whole number').positive('must be greater than 0');

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const severity = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` });

const accessClass = z.enum(['read', 'write', 'delete', 'execute'], {
  error: 'must be one of read, write, delete, execute',
});

/** Where to find a value on a span: `span:<attribute>` or `resource:<attribute>`. */
const attributeSource = z
  .string()
  .regex(/^(span|resource):.+$/, 'must be span:<attribute> or resource:<attribute>');

/** An http(s) URL; other schemes cannot be delivered to. */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const whsecSecret = z.string().startsWith('whsec_', 'must start with whsec_');

const receiverEndpoint = (defaultEndpoint: string) =>
  z.strictObject({
    enabled: z.boolean().default(true),
    endpoint: endpoint.default(defaultEndpoint),
  });

const webhook = z.strictObject({
  url: httpUrl,
  secret: whsecSecret,
  minSeverity: severity.default('low'),
  detectors: z.array(z.string()).default(['*']),
});

const revocationRule = z.strictObject({
  detectors: z.array(z.string()).default(['*']),
  minSeverity: severity.default('critical'),
  credentialTypes: z.array(z.string()).default(['*']),
  broker: z.string().min(1),
});

const broker = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ name: z.string().min(1), type: z.literal('webhook'), url: httpUrl, secret: whsecSecret }),
    z.strictObject({ name: z.string().min(1), type: z.literal('vault'), address: httpUrl, token: z.string().min(1) }),
    z.strictObject({
      name: z.string().min(1),
      type: z.literal('ssf'),
      url: httpUrl,
      issuer: z.string().min(1),
      audience: z.string().min(1),
      signingKey: z.string().min(1),
      authorization: z.string().optional(),
    }),
  ],
  { error: 'type must be one of webhook, vault, ssf' },
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
          })
          .prefault({}),
      })
      .prefault({}),
    ingest: z
      .strictObject({
        /** Spans waiting to be turned into actions; past this the receivers shed load (429/503/UNAVAILABLE). */
        queueSpans: positiveInt.default(262_144),
        /** What `Retry-After` / RetryInfo tells a client to wait when the queue is full. */
        retryAfter: duration.prefault('1s'),
      })
      .prefault({}),
    api: z
      .strictObject({
        endpoint: endpoint.default('127.0.0.1:8790'),
        token: z.string().min(16, 'must be at least 16 characters').optional(),
        metricsPublic: z.boolean().default(false),
      })
      .prefault({}),
    storage: z
      .strictObject({
        path: z.string().min(1).default('data/vigil.db'),
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
    zones: z.record(z.string(), z.array(z.string().min(1))).default({}),
    sensitive: z
      .strictObject({
        zones: z.array(z.string()).default([]),
        tools: z.array(z.string()).default([]),
        targets: z.array(z.string()).default([]),
      })
      .prefault({}),
    catalog: z.array(z.strictObject({ tool: z.string().min(1), access: accessClass })).default([]),
    webhooks: z.array(webhook).default([]),
    revocation: z
      .strictObject({
        mode: z.enum(['dry_run', 'enforce'], { error: 'must be dry_run or enforce' }).default('dry_run'),
        rules: z.array(revocationRule).default([]),
        brokers: z.array(broker).default([]),
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
  .superRefine((cfg, ctx) => {
    const names = new Set(cfg.revocation.brokers.map((b) => b.name));
    cfg.revocation.rules.forEach((rule, i) => {
      if (!names.has(rule.broker)) {
        ctx.addIssue({
          code: 'custom',
          path: ['revocation', 'rules', i, 'broker'],
          message: `names no broker in revocation.brokers (${[...names].join(', ') || 'none configured'})`,
        });
      }
    });
    for (const zone of cfg.sensitive.zones) {
      if (zone !== 'external' && !(zone in cfg.zones)) {
        ctx.addIssue({ code: 'custom', path: ['sensitive', 'zones'], message: `names unknown zone "${zone}"` });
      }
    }
  });

/** The validated, defaulted configuration (durations in ms, paths resolved by the loader). */
export type Config = z.output<typeof configSchema>;
export type Severity = (typeof SEVERITIES)[number];
