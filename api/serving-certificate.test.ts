import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ensureServingTlsFiles, issueServingTls, serviceDnsNames, servingTlsProblem } from './serving-certificate.ts';

const names = { dnsNames: ['localhost', ...serviceDnsNames('kubeception-api', 'kubeception-system')], ipAddresses: ['127.0.0.1'] };

test('the serving certificate names what clients dial, is signed by its CA, and a client trusting only that CA connects', async () => {
  const tls = await issueServingTls(names);
  const cert = new X509Certificate(tls.certPem);
  assert.ok(cert.checkIssued(new X509Certificate(tls.caCertPem)));
  assert.equal(cert.checkHost('kubeception-api.kubeception-system.svc'), 'kubeception-api.kubeception-system.svc');
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(servingTlsProblem(tls, names, new Date()), undefined);

  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const get = (ca: string | undefined) =>
      new Promise<string>((resolve, reject) =>
        request({ host: '127.0.0.1', port, path: '/', ...(ca === undefined ? {} : { ca }) }, (res) => {
          res.setEncoding('utf8');
          let body = '';
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        })
          .on('error', reject)
          .end(),
      );
    assert.equal(await get(tls.caCertPem), 'ok');
    await assert.rejects(get(undefined), /self-signed certificate|unable to verify/, 'a client without the CA refuses it');
  } finally {
    server.close();
  }
});

test('a kept pair is served again; a missing name, a foreign key or an approaching end make a new one', async () => {
  const now = new Date();
  const dir = await mkdtemp(join(tmpdir(), 'api-tls-'));
  try {
    const first = await ensureServingTlsFiles(dir, names, now);
    assert.equal(first.created, true);
    assert.equal(((await stat(first.files.keyFile)).mode & 0o777).toString(8), '600');
    const again = await ensureServingTlsFiles(dir, names, now);
    assert.equal(again.created, false, 'a valid pair is kept');

    const wider = await ensureServingTlsFiles(dir, { ...names, dnsNames: [...names.dnsNames, 'api.example.com'] }, now);
    assert.equal(wider.created, true);
    assert.equal(wider.reason, 'it lacks api.example.com');

    const late = new Date(now.getTime() + 340 * 86_400_000);
    assert.match(servingTlsProblem({ caCertPem: await readFile(wider.files.caFile, 'utf8'), certPem: await readFile(wider.files.certFile, 'utf8'), keyPem: await readFile(wider.files.keyFile, 'utf8') }, names, late) ?? '', /^it ends /);

    const other = await issueServingTls(names, now);
    await writeFile(wider.files.keyFile, other.keyPem);
    assert.equal((await ensureServingTlsFiles(dir, names, now)).reason, 'the key does not match the certificate');
    assert.equal(servingTlsProblem({ caCertPem: other.caCertPem, certPem: (await issueServingTls(names, now)).certPem, keyPem: other.keyPem }, names, now), 'the key does not match the certificate');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
