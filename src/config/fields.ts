/**
 * The value types config keys are made of (durations, endpoints, URLs, webhook secrets, zone patterns,
 * the API token), each with the one message `check-config` prints for a bad value.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ACCESS_CLASSES } from '../actions/types.js';
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

export const nonEmpty = z.string().min(1, 'must not be empty');

const ENDPOINT_MESSAGE = 'must be host:port, e.g. 127.0.0.1:4317';
/** `host:port`, IPv6 hosts in brackets; port 0 asks the OS for a free port (tests use it). */
export const endpoint = z
  .string({ error: unlessMissing(ENDPOINT_MESSAGE) })
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d+$/, ENDPOINT_MESSAGE)
  // Checked apart from the shape so `host:70000` gets one line saying what is wrong, not two.
  .refine((s) => !/:\d+$/.test(s) || Number(splitEndpoint(s).port) <= 65535, 'port must be at most 65535');

export const positiveInt = z.number().int('must be a whole number').positive('must be greater than 0');

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const severity = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` });

export const accessClass = z.enum(ACCESS_CLASSES, { error: `must be one of ${ACCESS_CLASSES.join(', ')}` });

/** Where to find a value on a span: `span:<attribute>` or `resource:<attribute>`. */
export const attributeSource = z
  .string()
  .regex(/^(span|resource):.+$/, 'must be span:<attribute> or resource:<attribute>');

/**
 * An http(s) URL; other schemes cannot be delivered to. No `user:password@`: fetch refuses such a URL
 * (nothing would ever be delivered), and a password in a URL ends up in logs and error rows.
 */
export const httpUrl = z
  .url({ protocol: /^https?$/, error: unlessMissing('must be an http(s) URL, e.g. http://127.0.0.1:9000/hook') })
  .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'must not carry credentials (user:password@): deliveries are authenticated by their signature or token');

/** The shortest webhook signing key (bytes): Standard Webhooks asks for 24 to 64; a short HMAC key is guessed from one delivery. */
const MIN_WHSEC_BYTES = 24;

/**
 * `whsec_` and the key in base64 (standard alphabet, padded), as Standard Webhooks libraries read it: a
 * secret they cannot decode would let no receiver verify a delivery, and an empty key authenticates nothing.
 */
export const whsecSecret = z
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
export const detectorList = (ids: readonly string[]) =>
  z.array(z.string().refine((d) => d === '*' || ids.includes(d), `must be * or one of ${ids.join(', ')}`)).default(['*']);

/**
 * A zone pattern: a host glob, or a CIDR. A malformed CIDR would otherwise be taken for a host glob that
 * never matches, silently putting that network in zone `external`.
 */
export const zonePattern = nonEmpty.refine((p) => {
  if (/\s/.test(p)) return false;
  if (!p.includes('/')) return true;
  const [addr, bits, ...rest] = p.split('/');
  const family = isIP(addr);
  return rest.length === 0 && family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, 'must be a host glob such as *.internal or a CIDR such as 10.0.0.0/8');

/**
 * A target glob (`sensitive.targets`, `templates`, a catalog `target`): an HTTP call's target is
 * `host/path` with no scheme and no query (CONTRACT §3), so one written as a path, or with a query,
 * could never match, and the detection it configures would be off without a word (review41 H1). A URI
 * is a target too: an MCP resource's (`file:///srv/hr/*`, `https://docs.internal/hr/*`: review42 M5,
 * review43 M2); one written as an http(s) URL is warned of (warnings.ts), since an HTTP call's never is.
 */
export const targetGlob = nonEmpty.refine(
  (p) => !p.startsWith('/') && (p.includes('://') || !p.includes('?')),
  'must be host/path as HTTP targets are, e.g. vault.internal/v1/secret/* (no query, no leading /), or an MCP resource URI',
);

/** The API token; exported so the loader holds `VIGIL_API_TOKEN` to the same rule as `api.token`. */
export const apiToken = z
  .string()
  .min(16, 'must be at least 16 characters')
  // The example config.yaml shows, copied as is: anyone who has read the file knows it.
  .refine((t) => t !== 'change-me-to-a-long-random-string', 'is the example from config.yaml: use a random one, e.g. openssl rand -base64 32')
  // A bearer token is one word: one with a space or a newline in it could never be presented.
  .regex(/^\S+$/, 'must not contain spaces or line breaks');
