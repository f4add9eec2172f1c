/**
 * TLS for a listener (`receivers.otlp.grpc.tls`, `receivers.otlp.http.tls`, `api.tls`): a certificate and
 * key, and optionally a CA whose client certificates alone are accepted (mutual TLS). The files are
 * checked when the config is loaded, so a missing or mismatched one stops the start with its key path,
 * and watched afterwards: certificates are short-lived (cert-manager, SPIFFE), and a daemon that had to
 * restart to pick up a renewed one would drop its listeners when it expires. A renewed set that does not
 * load is logged and the one in use is kept.
 */
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { resolve } from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { unreadableReason } from './errors.js';
import type { Logger } from './log.js';
import { closeIfSilent, SILENT_CONNECTION_MS } from './receiver/listen.js';

export interface TlsConfig {
  cert: string;
  key: string;
  clientCa?: string;
}

/** What a server needs: PEM bytes. `ca` is set only for mutual TLS. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | null;
}

/** A TLS file that cannot be used; `field` is the key at fault (`cert`, `key` or `clientCa`). */
class TlsFileError extends Error {
  constructor(
    readonly field: keyof TlsConfig,
    message: string,
  ) {
    super(message);
  }
}

/** How often the files are looked at for a renewal. */
const CHECK_EVERY_MS = 30_000;

/** Reads `cfg[field]` (resolved against `base`); messages name the path as written. */
function readPem(cfg: TlsConfig, base: string, field: keyof TlsConfig, marker: RegExp, what: string): Buffer {
  const file = cfg[field]!;
  let pem: Buffer;
  try {
    pem = readFileSync(resolve(base, file));
  } catch (err) {
    throw new TlsFileError(field, `cannot read ${file} (${unreadableReason(err)})`);
  }
  if (!marker.test(pem.toString('latin1'))) throw new TlsFileError(field, `${file} holds no PEM ${what}`);
  return pem;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Each certificate of a PEM file must parse: TLS would silently skip a damaged CA (and mutual TLS then
 * refuse every client) or fail on a damaged certificate with an error naming neither file.
 */
function checkCertificates(cfg: TlsConfig, field: 'cert' | 'clientCa', pem: Buffer): void {
  const blocks = pem.toString('latin1').match(CERT_BLOCK) ?? [];
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch {
      throw new TlsFileError(field, `${cfg[field]} holds a certificate that does not parse (the ${ordinal(i)} of ${blocks.length})`);
    }
  });
  if (blocks.length === 0) throw new TlsFileError(field, `${cfg[field]} holds no complete PEM certificate`);
}

const ordinal = (i: number) => ['first', 'second', 'third'][i] ?? `${i + 1}th`;

/**
 * Reads the files (relative paths against `base`) and checks that they make a server context: each
 * certificate parses and the key is the certificate's.
 */
function readTls(cfg: TlsConfig, base = '.'): TlsMaterial {
  const cert = readPem(cfg, base, 'cert', /-----BEGIN CERTIFICATE-----/, 'certificate (-----BEGIN CERTIFICATE-----)');
  checkCertificates(cfg, 'cert', cert);
  const key = readPem(cfg, base, 'key', /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/, 'private key (-----BEGIN PRIVATE KEY-----)');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key.toString('latin1'))) {
    throw new TlsFileError('key', `${cfg.key} is encrypted; Vigil needs an unencrypted key (openssl pkey -in KEY -out PLAIN)`);
  }
  const ca = cfg.clientCa === undefined ? null : readPem(cfg, base, 'clientCa', /-----BEGIN CERTIFICATE-----/, 'CA certificate (-----BEGIN CERTIFICATE-----)');
  if (ca) checkCertificates(cfg, 'clientCa', ca);
  try {
    tls.createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    const reason = (err as { reason?: string }).reason ?? (err as Error).message;
    throw new TlsFileError('key', /mismatch/i.test(reason) ? `${cfg.key} is not the key of ${cfg.cert}` : `${cfg.key} does not load (${reason})`);
  }
  return { cert, key, ca };
}

/** Problem lines for the config loader, `path` being the `tls` key's path (`api.tls`). */
export function tlsProblems(cfg: TlsConfig | undefined, path: string, base: string): string[] {
  if (cfg === undefined) return [];
  // Every file that cannot be read is named at once; what is in them is checked once all can be.
  const unreadable: string[] = [];
  for (const field of ['cert', 'key', 'clientCa'] as const) {
    const file = cfg[field];
    if (file === undefined) continue;
    try {
      readFileSync(resolve(base, file));
    } catch (err) {
      unreadable.push(`${path}.${field}: cannot read ${file} (${unreadableReason(err)})`);
    }
  }
  if (unreadable.length > 0) return unreadable;
  try {
    readTls(cfg, base);
    return [];
  } catch (err) {
    if (!(err instanceof TlsFileError)) throw err;
    return [`${path}.${err.field}: ${err.message}`];
  }
}

/** Options for `https.createServer` and `tls.createSecureContext`: client certificates required with a CA. */
function serverOptions(m: TlsMaterial): tls.TlsOptions {
  return m.ca ? { cert: m.cert, key: m.key, ca: m.ca, requestCert: true, rejectUnauthorized: true } : { cert: m.cert, key: m.key };
}

/**
 * A listener's TLS files, re-read when one of them changes (size, times or inode: a Kubernetes secret
 * mount swaps a symlink). `onRenew` gets each new set that loads; a set that does not is logged once.
 */
export class TlsFiles {
  current: TlsMaterial;
  private stamp: string;
  private readonly listeners: Array<(m: TlsMaterial) => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private failedStamp = '';

  constructor(
    private readonly cfg: TlsConfig,
    private readonly name: string,
    private readonly logger: Logger,
  ) {
    // Stamped before reading: files renewed while being read are read again at the next look.
    this.stamp = this.fileStamp();
    this.current = readTls(cfg);
  }

  /** Calls `listener` with every renewed set, and starts watching. */
  onRenew(listener: (m: TlsMaterial) => void): void {
    this.listeners.push(listener);
    this.timer ??= setInterval(() => this.check(), CHECK_EVERY_MS).unref();
  }

  /** Looks at the files now; true when a renewed set was loaded. */
  check(): boolean {
    const stamp = this.fileStamp();
    if (stamp === this.stamp || stamp === this.failedStamp) return false;
    let next: TlsMaterial;
    try {
      next = readTls(this.cfg);
    } catch (err) {
      if (!(err instanceof TlsFileError)) throw err;
      // Files are often replaced one at a time: the next look, once both are in place, loads them.
      this.failedStamp = stamp;
      this.logger.error({ listener: this.name, key: err.field }, `renewed TLS files not loaded, the ones in use are kept: ${err.message}`);
      return false;
    }
    this.stamp = stamp;
    this.failedStamp = '';
    this.current = next;
    for (const l of this.listeners) l(next);
    this.logger.info({ listener: this.name }, 'renewed TLS certificate loaded');
    return true;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private fileStamp(): string {
    return [this.cfg.cert, this.cfg.key, this.cfg.clientCa]
      .map((f) => {
        if (f === undefined) return '';
        try {
          const s = statSync(f);
          return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`; // ctime: a chmod or chown that fixes access
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }
}

/** An HTTP(S) server and how to close it, TLS files and half-open handshakes included. */
export interface HttpListener {
  server: http.Server;
  /** The TLS files behind an HTTPS server (renewals are looked for every 30 s, or at `check()`). */
  files: TlsFiles | null;
  /**
   * Stops accepting and closes idle connections; after `graceMs`, every connection, including TLS
   * handshakes never completed (not yet HTTP connections, so Node's own close would wait out its
   * handshake timeout for them). Resolves once the server is closed.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * How often Node checks its servers' `headersTimeout` and `requestTimeout`. Its default, 30 s, lets a
 * stalled request outlive a short timeout by up to that much (3 s measured as up to 28.5 s).
 */
const TIMEOUT_CHECK_MS = 1000;

/** Longest a TLS client may take to finish its handshake (Node's default, 120 s, lets idle sockets pile up). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * An HTTP server, or with `cfg` an HTTPS one whose certificate follows the files' renewals. `name`
 * names the listener in logs. A connection that sends nothing within `silentMs` is closed.
 */
export function createHttpServer(
  cfg: TlsConfig | undefined,
  name: string,
  logger: Logger,
  options: http.ServerOptions,
  handler: http.RequestListener,
  silentMs = SILENT_CONNECTION_MS,
): HttpListener {
  let server: http.Server;
  let files: TlsFiles | null = null;
  const sockets = new Set<net.Socket>();
  options = { connectionsCheckingInterval: TIMEOUT_CHECK_MS, ...options };
  if (cfg === undefined) {
    server = http.createServer(options, handler);
  } else {
    files = new TlsFiles(cfg, name, logger);
    const secure = https.createServer({ ...options, ...serverOptions(files.current), handshakeTimeout: HANDSHAKE_TIMEOUT_MS }, handler);
    files.onRenew((m) => secure.setSecureContext(serverOptions(m)));
    secure.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    // An https.Server is an http.Server to everything that uses one here (requests, timeouts, upgrades).
    server = secure as unknown as http.Server;
  }
  server.on('connection', (s: net.Socket) => closeIfSilent(s, silentMs));
  const closeAll = () => {
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
  };
  return {
    server,
    files,
    close(graceMs) {
      files?.close();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        if (graceMs <= 0) closeAll();
        else setTimeout(closeAll, graceMs).unref();
      });
    },
  };
}
