// The host test bed's own CA and certificates, made with the openssl command line (ECDSA P-256: fast,
// and every Kubernetes component accepts it). This is the HOST cluster's PKI; tenants get theirs from
// operator/pki.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';

export interface LeafSpec {
  /** File name stem: <name>.crt and <name>.key. */
  name: string;
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ips?: string[];
  usage: 'server' | 'client' | 'both';
  /** Signing CA; the etcd CA signs etcd's certificates and the API server's etcd client. */
  ca?: 'ca' | 'etcd-ca';
}

function subject(commonName: string, organizations: string[] = []): string {
  return [...organizations.map((o) => `/O=${o}`), `/CN=${commonName}`].join('');
}

async function ensureCA(dir: string, name: string, commonName: string): Promise<void> {
  if (existsSync(join(dir, `${name}.crt`))) return; // a CA that exists is kept
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '3650', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
}

async function issueLeaf(dir: string, ca: string, spec: LeafSpec): Promise<void> {
  const crt = join(dir, `${spec.name}.crt`);
  if (existsSync(crt)) return;
  const key = join(dir, `${spec.name}.key`);
  const csr = join(dir, `${spec.name}.csr`);
  const ext = join(dir, `${spec.name}.ext`);
  const sans = [...(spec.dnsNames ?? []).map((d) => `DNS:${d}`), ...(spec.ips ?? []).map((ip) => `IP:${ip}`)];
  const eku = spec.usage === 'server' ? 'serverAuth' : spec.usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
  await writeFile(ext, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
  ].join('\n') + '\n');
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', csr, '-subj', subject(spec.commonName, spec.organizations)]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', join(dir, `${ca}.crt`), '-CAkey', join(dir, `${ca}.key`),
    '-set_serial', `0x${crypto.randomUUID().replaceAll('-', '')}`, '-days', '3650', '-extfile', ext, '-out', crt]);
  await rm(csr);
  await rm(ext);
}

/** Every certificate the host test bed needs, made once and kept across restarts. */
export async function ensureHostPki(dir: string, leaves: LeafSpec[]): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await ensureCA(dir, 'ca', 'kubeception-testbed-ca');
  await ensureCA(dir, 'etcd-ca', 'kubeception-testbed-etcd-ca');
  const saKey = join(dir, 'sa.key');
  if (!existsSync(saKey)) {
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', saKey]);
    await run('openssl', ['pkey', '-in', saKey, '-pubout', '-out', join(dir, 'sa.pub')]);
  }
  await Promise.all(leaves.map((leaf) => issueLeaf(dir, leaf.ca ?? 'ca', leaf)));
}
