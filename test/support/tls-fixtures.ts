import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsFixtures {
  dir: string;
  /** Paths. The CA signs server, wrongName and client certificates. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  wrongNameCert: string;
  wrongNameKey: string;
  selfSignedCert: string;
  selfSignedKey: string;
  /** Signed by the CA, right name, validity ended in 2020. */
  expiredCert: string;
  expiredKey: string;
  /** Right name, signed by another CA the probe is not told to trust. */
  unknownCaCert: string;
  unknownCaKey: string;
  clientCert: string;
  clientKey: string;
  read(path: string): string;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
}

function signed(dir: string, name: string, subject: string, san: string | undefined): void {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-subj',
    subject,
    '-out',
    `${name}.csr`,
  ]);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, san ? `subjectAltName=${san}\n` : 'extendedKeyUsage=clientAuth\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    ext,
  ]);
}

/** A certificate signed by the CA whose validity lies in the past (`openssl ca` takes dates). */
function expired(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-subj',
    '/CN=127.0.0.1',
    '-out',
    `${name}.csr`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ ca ]',
      'default_ca = d',
      '[ d ]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = p',
      'unique_subject = no',
      '[ p ]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  openssl(dir, [
    'ca',
    '-batch',
    '-notext',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.crt',
    '-keyfile',
    'ca.key',
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.crt`,
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** A second CA and a server certificate from it (right name, untrusted issuer). */
function otherCa(dir: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'other-ca.key',
    '-out',
    'other-ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=another CA',
  ]);
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'unknown-ca.key',
    '-subj',
    '/CN=127.0.0.1',
    '-out',
    'unknown-ca.csr',
  ]);
  writeFileSync(join(dir, 'unknown-ca.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'unknown-ca.csr',
    '-CA',
    'other-ca.crt',
    '-CAkey',
    'other-ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'unknown-ca.crt',
    '-extfile',
    'unknown-ca.ext',
  ]);
}

/** Generates a throw-away CA and certificates with the openssl CLI into a temp dir. */
export function makeTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-tls-'));
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=switchyard test CA',
  ]);
  signed(dir, 'server', '/CN=127.0.0.1', 'IP:127.0.0.1,DNS:localhost,DNS:gw.test');
  signed(dir, 'wrong', '/CN=other.example', 'DNS:other.example');
  signed(dir, 'client', '/CN=switchyard-probe', undefined);
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'self.key',
    '-out',
    'self.crt',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  expired(dir, 'expired');
  otherCa(dir);
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    wrongNameCert: p('wrong.crt'),
    wrongNameKey: p('wrong.key'),
    selfSignedCert: p('self.crt'),
    selfSignedKey: p('self.key'),
    expiredCert: p('expired.crt'),
    expiredKey: p('expired.key'),
    unknownCaCert: p('unknown-ca.crt'),
    unknownCaKey: p('unknown-ca.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    read: (path) => readFileSync(path, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
