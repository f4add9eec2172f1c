/** The test-only TLS material in test/fixtures/tls (made by its make.sh) and listener configs using it. */
import fs from 'node:fs';
import path from 'node:path';

export const TLS_DIR = path.join(import.meta.dirname, '../fixtures/tls');
/** The path of fixture `name` (`server`, `ca`, `client-key`, ...). */
export const tlsFile = (name: string) => path.join(TLS_DIR, `${name}.pem`);
/** The bytes of fixture `name`, for clients. */
export const pem = (name: string) => fs.readFileSync(tlsFile(name));
/** A listener's `tls` with the server certificate (127.0.0.1 and localhost). */
export const SERVER_TLS = { cert: tlsFile('server'), key: tlsFile('server-key') };
/** The same, requiring client certificates from the test CA. */
export const MUTUAL_TLS = { ...SERVER_TLS, clientCa: tlsFile('ca') };
