#!/usr/bin/env node
/**
 * `vigil serve | replay | check-config | baseline | revocation | webhook | mute | mutes | unmute`. User
 * errors (bad flags, bad config, unreadable files) print a sentence and exit 1 — never a stack trace.
 */
import { parseArgs } from 'node:util';
import { ConfigError, formatEffectiveConfig, loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { configWarnings } from './config/warnings.js';
import { UserError } from './errors.js';
import { apiTokenProblem } from './api/token.js';
import { createLogger } from './log.js';
import { startDaemon, type Daemon } from './main.js';
import { baselineCommand } from './cli-baseline.js';
import { revocationCommand } from './cli-revocation.js';
import { webhookCommand } from './cli-webhook.js';
import { muteCommand } from './cli-mute.js';
import { runReplay } from './replay.js';
import { loadSigningKey, publicJwk } from './revocation/ssf-key.js';

const USAGE = `Usage:
  vigil serve [--config FILE]                      run the daemon (what npm start runs)
  vigil replay [--config FILE] [--db FILE] [--actions] FILE...
                                                   backtest OTLP/JSON lines files (.gz too; - is stdin)
  vigil check-config [--config FILE]               validate and print the effective config
  vigil baseline show [--config FILE] IDENTITY     what the running daemon learned for an identity
  vigil baseline allow [--config FILE] IDENTITY DIMENSION ITEM
                                                   make an item normal (dimension: tool, target, host,
                                                   zone, scope, agent, access, transition, flow, bulk)
  vigil baseline allow [--config FILE] --peer-group GROUP DIMENSION ITEM
                                                   the same for every member of a peer group
  vigil baseline disallow [--config FILE] IDENTITY DIMENSION ITEM (or --peer-group GROUP DIMENSION ITEM)
                                                   undo an allow: the item leaves the baseline(s)
  vigil baseline allows [--config FILE] [IDENTITY | --peer-group GROUP]
                                                   the allows and disallows made: who, when, what
  vigil baseline reset [--config FILE] IDENTITY    forget what an identity learned (it learns again,
                                                   judged against its peer group meanwhile)
  vigil revocation retry [--config FILE] REVOCATION_ID
                                                   send a failed revocation again, routed by the
                                                   current rules (enforce mode)
  vigil webhook list [--config FILE]               each webhook endpoint's state (pending, failures, pause)
  vigil webhook resume [--config FILE] ENDPOINT    send an endpoint's pending deliveries now (its receiver
                                                   is back); ENDPOINT is its index in webhooks (0, 1, ...)
  vigil mute [--config FILE] IDENTITY DETECTOR [SUBJECT] --for DURATION --reason TEXT
                                                   for a while (at most 7d), the identity's findings of
                                                   DETECTOR (on SUBJECT, an alert's evidence.subject, or
                                                   any) raise no alert; they are counted on the mute
  vigil mutes [--config FILE] [IDENTITY] [--all]   the mutes in force (--all: ended ones too)
  vigil unmute [--config FILE] MUTE_ID             end a mute now

Without --config, every command reads the file VIGIL_CONFIG names, else the repository's config.yaml.
`;

class UsageError extends Error {}

/** `daemon`: for a command that runs or checks the daemon (a replay keeps no store and delivers nothing). */
function load(path: string | undefined, daemon = true): Config {
  const loaded = loadConfig({ path, env: process.env });
  // Valid, but a config emptied by a failed deploy would move the store and turn off delivery unseen (review35 L3).
  if (loaded.empty && daemon) {
    const { config } = loaded;
    process.stderr.write(
      `vigil: warning: ${loaded.path} sets nothing, so every setting is its default: the store at ${config.storage.path}, ` +
        `no webhooks, no credential revocation\n`,
    );
  }
  return loaded.config;
}

/** Longest a clean shutdown may take: draining the queue and held traces, the final commit. */
const SHUTDOWN_LIMIT_MS = 30_000;

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const config = load(values.config);
  const logger = createLogger(config.log.level);
  // Which file, and what chose it: VIGIL_CONFIG set in a shell profile also chooses for `npm start`.
  const chosenBy = values.config !== undefined ? '--config' : process.env.VIGIL_CONFIG ? 'VIGIL_CONFIG' : 'the default';
  logger.info({ config: values.config ?? (process.env.VIGIL_CONFIG || 'config.yaml (the repository\'s)'), chosenBy }, 'configuration read');
  // Signals are handled from before start-up: one that arrives between "vigil ready" and the end of
  // startDaemon must not meet Node's default (an exit on the spot).
  let daemon: Daemon | null = null;
  let stopRequested = false;
  const shutDown = (d: Daemon) => void d.close().then(() => process.exit(0));
  let signals = 0;
  const stop = (signal: string) => {
    // A second signal means "now": the operator has given up on a clean drain.
    if (++signals > 1) process.exit(130);
    logger.info({ signal }, 'shutting down');
    // A shutdown stuck on something unforeseen must not need a kill -9 from the supervisor; exiting
    // without the final commit loses nothing acknowledged (answers follow commits).
    setTimeout(() => {
      logger.error({ afterMs: SHUTDOWN_LIMIT_MS }, 'shutdown did not complete in time; exiting without the final commit');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    if (daemon) shutDown(daemon);
    else stopRequested = true; // still starting: shut down as soon as it has started
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Node's default for SIGHUP is to die on the spot: a closed terminal, or a supervisor's "reload",
  // would silently end the monitoring. There is nothing to reload (the config is read at start).
  process.on('SIGHUP', () => logger.warn({ signal: 'SIGHUP' }, 'SIGHUP ignored: Vigil reads its configuration at start; restart it to apply a change'));
  // A fault nothing foresaw leaves state that cannot be trusted: exit, but say why in the structured log
  // (Node would print a bare stack trace beside it). Nothing acknowledged is lost: answers follow commits.
  const crash = (err: unknown) => {
    logger.fatal({ err }, 'unexpected error; exiting so a supervisor restarts Vigil (acknowledged exports are committed)');
    logger.flush(() => process.exit(70));
    setTimeout(() => process.exit(70), 1000).unref();
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  daemon = await startDaemon({ config, logger });
  if (stopRequested) shutDown(daemon);
}

async function replay(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string' }, db: { type: 'string' }, actions: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new UsageError('vigil replay needs at least one file');
  const config = load(values.config, false);
  await runReplay({ config, files: positionals, db: values.db ?? ':memory:', printActions: values.actions });
}

function checkConfig(args: string[]): void {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const config = load(values.config);
  // A rule of `serve` that needs no more than the config (review28 L9: check-config passed what serve refused).
  const tokenProblem = apiTokenProblem(config.api.token, config.storage.path);
  if (tokenProblem !== null) throw new UserError(tokenProblem);
  process.stdout.write(formatEffectiveConfig(config));
  // What each SSF receiver needs to verify the SETs (a YAML comment: the output stays the config).
  for (const b of config.revocation.brokers) {
    if (b.type === 'ssf') process.stdout.write(`# ssf broker ${b.name} signs with this key; its receiver's JWKS: ${JSON.stringify({ keys: [publicJwk(loadSigningKey(b.signingKey))] })}\n`);
  }
  // The warnings `serve` logs at start, before deploying rather than after (valid all the same: exit 0).
  for (const w of configWarnings(config)) process.stderr.write(`vigil check-config: warning: ${w.key} ${w.message}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `vigil replay … | head`: once the reader closes the pipe it has what it wanted; stop quietly, as
  // Unix tools do, rather than die on an unhandled EPIPE with a stack trace. Commits made are kept.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  try {
    switch (command) {
      case 'serve':
        await serve(rest);
        return -1; // keeps running until a signal
      case 'replay':
        await replay(rest);
        return 0;
      case 'check-config':
        checkConfig(rest);
        return 0;
      case 'baseline':
        await baselineCommand(rest, load);
        return 0;
      case 'revocation':
        await revocationCommand(rest, load);
        return 0;
      case 'webhook':
        await webhookCommand(rest, load);
        return 0;
      case 'mute':
      case 'mutes':
      case 'unmute':
        await muteCommand(command, rest, load);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil: invalid configuration\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
    } else if (err instanceof UsageError || isArgumentError(err)) {
      process.stderr.write(`vigil: ${argumentMessage(err as Error)}\n\n${USAGE}`);
    } else if (err instanceof UserError) {
      process.stderr.write(`vigil: ${err.userMessage}\n`);
    } else {
      process.stderr.write(`vigil: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    return 1;
  }
}

/** node:util parseArgs's errors (an unknown option, a missing value, an argument not expected): the user's. */
function isArgumentError(err: unknown): boolean {
  return String((err as NodeJS.ErrnoException | null)?.code).startsWith('ERR_PARSE_ARGS_');
}

function argumentMessage(err: Error): string {
  const hint = (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' ? ' (a configuration file is given as --config FILE)' : '';
  return err.message + hint;
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
