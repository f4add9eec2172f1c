/**
 * Loading the configuration: read the file, parse YAML, validate against the schema (which holds every
 * default), resolve relative paths, apply `VIGIL_API_TOKEN`, freeze. Validation happens once, here, and
 * every problem found is reported together, one line each, so an operator fixes a file in one pass
 * rather than one error per restart (cross-references between sections are checked once the fields are
 * valid: see the schema).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCollection, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { unreadableReason, VigilError } from '../errors.js';
import { signingKeyProblems } from '../revocation/ssf-key.js';
import { tlsProblems, type TlsConfig } from '../tls.js';
import { issueLines, plainWords } from './problems.js';
import { apiToken } from './fields.js';
import { type Config, configSchema } from './schema.js';

export { formatEffectiveConfig } from './format.js';

/**
 * Anchors and aliases are legal YAML, but each alias can expand to a whole subtree; without a cap a
 * few lines ("billion laughs") expand to gigabytes. A config file has no need for more than a few.
 */
const MAX_ALIAS_COUNT = 64;

/** Invalid configuration: `problems` holds one line per problem, each naming its key path or the file. */
export class ConfigError extends VigilError {
  readonly problems: string[];

  constructor(problems: string[], source: string) {
    super('VIGIL_ERR_CONFIG', `${source}\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** What `loadConfig` returns: the frozen configuration and the file it came from (null: pure defaults). */
export interface LoadedConfig {
  config: Readonly<Config>;
  path: string | null;
  /** The file set nothing (empty, or only comments): every setting is its default. */
  empty: boolean;
}

/**
 * The folder holding package.json: the repository (or installed package) root. Found by walking up from
 * this module because it runs both as `src/config/load.ts` (tests) and `dist/src/config/load.js`.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('vigil: cannot find package.json above the config loader');
    dir = parent;
  }
  return dir;
}

/** The repository's own `config.yaml`, what `npm start` and a bare `vigil serve` use. */
function defaultConfigPath(): string {
  return join(packageRoot(), 'config.yaml');
}

/** `namedBy`: what chose the file (`--config` or `VIGIL_CONFIG`), for the message when it is missing. */
function readConfigFile(file: string, namedBy: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    // The reason is the one every unreadable file gets; the phrasing around it is the config file's own:
    // a missing one is most often a mistyped --config or VIGIL_CONFIG.
    const code = (err as NodeJS.ErrnoException).code;
    const reason = unreadableReason(err);
    const why = code === 'ENOENT' ? `${reason}; check the ${namedBy} path` : code === 'EISDIR' ? `${reason}, not a file` : `cannot be read (${reason})`;
    throw new ConfigError([`${file}: ${why}`], file);
  }
}

/** Parses YAML text into plain data, or throws ConfigError with one line per syntax problem. */
function parseYaml(text: string, file: string): unknown {
  const name = basename(file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, schema: 'core' });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${name}: line ${line}, column ${col}`;
  };
  const problems: string[] = [];
  // yaml reports a duplicate key by position only; find the key node there to name it.
  const keysAt = new Map<number, string>();
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range) keysAt.set(pair.key.range[0], String(pair.key.value));
      else if (isCollection(pair.key) && pair.key.range) {
        // `? [a, b]: x` is legal YAML, but JavaScript objects would turn the key into a string.
        problems.push(`${at(pair.key.range[0])}: a key must be a plain name, not a list or mapping`);
      }
    },
  });
  for (const error of doc.errors) {
    const key = error.code === 'DUPLICATE_KEY' ? keysAt.get(error.pos[0]) : undefined;
    const message = key !== undefined ? `duplicate key "${key}"` : error.message.replace(/\s+/g, ' ').trim();
    problems.unshift(`${at(error.pos[0])}: ${message}`);
  }
  if (problems.length) throw new ConfigError(problems.sort(byPosition), file);
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = (err as Error).message.startsWith('Excessive alias count')
      ? 'too many alias expansions (*name references); write the values out instead'
      : (err as Error).message;
    throw new ConfigError([`${name}: ${message}`], file);
  }
}

/** Orders `file: line L, column C: …` lines as they appear in the file. */
function byPosition(a: string, b: string): number {
  const pos = (s: string) => (/line (\d+), column (\d+)/.exec(s) ?? []).slice(1).map(Number);
  const [la = 0, ca = 0] = pos(a);
  const [lb = 0, cb = 0] = pos(b);
  return la - lb || ca - cb;
}

/**
 * Reads keys with no value as left out, recursively. In YAML `webhooks:` with every example below it
 * commented out is null; treating it as absent gives the default instead of "must be a list" for a file
 * that only looks empty. The key stays (undefined), so a misspelt one is still reported as unknown. Nulls
 * inside lists are kept: `[a, ~]` is a mistake worth reporting.
 */
function emptyAsAbsent(value: unknown, file: string, path = '', within = new Set<object>()): unknown {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return value;
  // `a: &a [*a]` is legal YAML for a value that holds itself: it would never end (a stack overflow).
  if (within.has(value)) throw new ConfigError([`${path}: an alias (*name) refers to a value that holds it; write the value out instead`], file);
  within.add(value);
  try {
    if (Array.isArray(value)) return value.map((item, i) => emptyAsAbsent(item, file, `${path}[${i}]`, within));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const at = path === '' ? key : `${path}.${key}`;
      // Left out, but still there: a misspelt key with no value is reported as unknown like any other.
      const value = item === null ? undefined : emptyAsAbsent(item, file, at, within);
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    within.delete(value);
  }
}

const describeKind = (v: unknown): string => (Array.isArray(v) ? 'a list' : typeof v === 'string' ? 'text' : `a ${typeof v}`);

/** Freezes every object and array below `value`, so no component can change the config another relies on. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** Makes the file paths in the config absolute, relative ones taken against `base` (the config's folder). */
function resolvePaths(config: Config, base: string): void {
  if (config.storage.path !== ':memory:') config.storage.path = resolve(base, config.storage.path);
  for (const broker of config.revocation.brokers) {
    if (broker.type === 'ssf') broker.signingKey = resolve(base, broker.signingKey);
  }
  for (const t of tlsSections(config)) {
    if (!t.tls) continue;
    t.tls.cert = resolve(base, t.tls.cert);
    t.tls.key = resolve(base, t.tls.key);
    if (t.tls.clientCa !== undefined) t.tls.clientCa = resolve(base, t.tls.clientCa);
  }
}

/** The listeners that may have `tls`, with their key paths. */
function tlsSections(config: Config): Array<{ path: string; tls: TlsConfig | undefined }> {
  const { grpc, http } = config.receivers.otlp;
  return [
    { path: 'receivers.otlp.grpc.tls', tls: grpc.tls },
    { path: 'receivers.otlp.http.tls', tls: http.tls },
    { path: 'api.tls', tls: config.api.tls },
  ];
}

/**
 * Loads, validates and freezes the configuration.
 *
 * - `path`: the YAML file (relative to the working directory). Absent: the file `VIGIL_CONFIG` names
 *   (so an operator whose config lives in /etc/vigil need not repeat --config on every command), else
 *   the repository's `config.yaml`, or pure defaults when that file does not exist (relative defaults
 *   then resolve against the package root, where that file would be).
 * - `env`: the environment (default `process.env`); `VIGIL_API_TOKEN` and `VIGIL_RECEIVER_TOKEN`, when
 *   non-empty, override `api.token` and `receivers.otlp.token` and must meet the same rule.
 *
 * An empty file means all defaults; a key with no value is treated as absent. Throws ConfigError listing
 * every problem when the file is missing, unreadable, not YAML, or breaks the schema.
 */
export function loadConfig(options: { path?: string; env?: NodeJS.ProcessEnv } = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const chosen = options.path ?? (env.VIGIL_CONFIG || undefined);
  const namedBy = options.path !== undefined ? '--config' : 'VIGIL_CONFIG';
  let file: string | null = chosen === undefined ? defaultConfigPath() : resolve(chosen);
  if (chosen === undefined && !existsSync(file)) file = null;

  let raw: unknown = {};
  if (file !== null) raw = emptyAsAbsent(parseYaml(readConfigFile(file, namedBy), file), file) ?? {};
  const name = file === null ? 'defaults' : basename(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Buffer.isBuffer(raw)) {
    throw new ConfigError([`${name}: the top level must be a mapping of keys such as receivers: and api:, not ${describeKind(raw)}`], file ?? name);
  }

  const parsed = configSchema.safeParse(raw, { error: plainWords });
  const problems = parsed.success ? [] : issueLines(parsed.error.issues, configSchema, raw, name);
  const envToken = env.VIGIL_API_TOKEN;
  const envReceiverToken = env.VIGIL_RECEIVER_TOKEN;
  for (const [name, value] of [['VIGIL_API_TOKEN', envToken], ['VIGIL_RECEIVER_TOKEN', envReceiverToken]] as const) {
    if (!value) continue;
    const checked = apiToken.safeParse(value);
    if (!checked.success) problems.push(...checked.error.issues.map((issue) => `${name}: ${issue.message}`));
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems, file ?? name);

  const config = parsed.data;
  const base = file === null ? packageRoot() : dirname(file);
  // Files the config names are checked now, so a bad one stops the start with its key path.
  const fileProblems = [...signingKeyProblems(config, base), ...tlsSections(config).flatMap((t) => tlsProblems(t.tls, t.path, base))];
  if (fileProblems.length) throw new ConfigError(fileProblems, file ?? name);
  resolvePaths(config, base);
  if (envToken) config.api.token = envToken;
  if (envReceiverToken) config.receivers.otlp.token = envReceiverToken;
  return { config: deepFreeze(config), path: file, empty: file !== null && Object.keys(raw).length === 0 };
}
