/**
 * Server credentials for the OTLP/gRPC receiver: plaintext, or TLS from `receivers.otlp.grpc.tls` whose
 * certificate (and client CA) follow the files' renewals without a restart. grpc-js takes renewals
 * through a certificate provider; this one is fed by the same file watcher as the HTTPS listeners.
 */
import * as grpc from '@grpc/grpc-js';
import { HANDSHAKE_TIMEOUT_MS, type TlsFiles, type TlsMaterial } from '../tls.js';

type Provider = grpc.experimental.CertificateProvider;
type IdentityListener = Parameters<Provider['addIdentityCertificateListener']>[0];
type CaListener = Parameters<Provider['addCaCertificateListener']>[0];

export function grpcCredentials(files: TlsFiles | null): grpc.ServerCredentials {
  if (files === null) return grpc.ServerCredentials.createInsecure();
  const identities = new Set<IdentityListener>();
  const cas = new Set<CaListener>();
  const identity = (m: TlsMaterial) => ({ certificate: m.cert, privateKey: m.key });
  const ca = (m: TlsMaterial) => (m.ca ? { caCertificate: m.ca } : null);
  // A new listener hears the current set on the next tick, not at once: grpc-js registers the watcher
  // that applies it to the server just after adding the listener, and would miss a synchronous call
  // (the port then drops every connection).
  const provider: Provider = {
    addIdentityCertificateListener(l) {
      identities.add(l);
      process.nextTick(l, identity(files.current));
    },
    removeIdentityCertificateListener: (l) => void identities.delete(l),
    addCaCertificateListener(l) {
      cas.add(l);
      process.nextTick(l, ca(files.current));
    },
    removeCaCertificateListener: (l) => void cas.delete(l),
  };
  files.onRenew((m) => {
    for (const l of identities) l(identity(m));
    for (const l of cas) l(ca(m));
  });
  const mutual = files.current.ca !== null;
  // One provider in both roles (certificate, client CA): grpc-js 1.14 takes the two arguments in the
  // order opposite to its type declaration, which a single provider makes moot.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, mutual ? provider : null, mutual);
  // grpc-js builds its TLS server from these options and has none for the handshake's deadline: Node's
  // default (120 s) would let half-done handshakes, a file descriptor each, pile up. The HTTPS
  // listeners use the same limit.
  const options = credentials._getConstructorOptions();
  if (options === null) throw new Error('grpc-js returned TLS credentials without server options');
  options.handshakeTimeout = HANDSHAKE_TIMEOUT_MS;
  return credentials;
}
