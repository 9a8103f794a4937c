/**
 * Throw-away PKI for a loopback kube-apiserver: a CA, a serving certificate
 * for 127.0.0.1/localhost signed by it, and the service-account key pair.
 * EC P-256 keys (fast to generate; Go's TLS and token signing accept them),
 * made with the openssl CLI, valid for two days.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../netns.js';

export interface KubePki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Service-account token signing key (private) and verification key (public). */
  readonly saKey: string;
  readonly saPub: string;
}

const DAYS = '2';

async function ecKey(file: string): Promise<void> {
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/** Writes the PKI files into `dir` and returns their paths. */
export async function makePki(dir: string): Promise<KubePki> {
  const p = (name: string): string => join(dir, name);
  const pki: KubePki = {
    caCert: p('ca.crt'), caKey: p('ca.key'), serverCert: p('apiserver.crt'), serverKey: p('apiserver.key'),
    saKey: p('sa.key'), saPub: p('sa.pub'),
  };
  await Promise.all([ecKey(pki.caKey), ecKey(pki.serverKey), ecKey(pki.saKey)]);
  await run('openssl', ['req', '-x509', '-new', '-key', pki.caKey, '-subj', '/CN=tortie-test-ca', '-days', DAYS, '-out', pki.caCert]);
  const csr = p('apiserver.csr');
  const ext = p('apiserver.ext');
  writeFileSync(ext, [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc',
    '',
  ].join('\n'));
  await run('openssl', ['req', '-new', '-key', pki.serverKey, '-subj', '/CN=kube-apiserver', '-out', csr]);
  await run('openssl', [
    'x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-days', DAYS, '-extfile', ext,
    '-out', pki.serverCert,
  ]);
  await run('openssl', ['pkey', '-in', pki.saKey, '-pubout', '-out', pki.saPub]);
  return pki;
}
