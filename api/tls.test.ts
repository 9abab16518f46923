// The API's HTTPS: served from two files and reloaded when they are replaced, without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { get as httpsGet, type Server as HttpsServer } from 'node:https';
import { buildApp } from './app.ts';
import { memoryWorld } from './testing.ts';
import { readTlsMaterial, reloadServerTls, type TlsFiles } from './tls.ts';
import { createCaCertificate, generatePrivateKey } from '../core/index.ts';

async function selfSigned(commonName: string): Promise<{ cert: string; key: string }> {
  const key = await generatePrivateKey('ECDSA-P256');
  return { cert: await createCaCertificate(commonName, key), key };
}

async function tempFiles(t: { after: (fn: () => Promise<void>) => void }): Promise<TlsFiles & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kubeception-api-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
}

/** Replaces both files the way the kubelet updates a mounted Secret: new files renamed over the old. */
async function replace(files: TlsFiles & { dir: string }, pair: { cert: string; key: string }): Promise<void> {
  await writeFile(join(files.dir, 'next.crt'), pair.cert);
  await writeFile(join(files.dir, 'next.key'), pair.key);
  await rename(join(files.dir, 'next.crt'), files.certFile);
  await rename(join(files.dir, 'next.key'), files.keyFile);
}

/** The subject CN of the certificate the server presents on a new connection. */
function servedCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const der = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(der).subject.replace(/^CN=/, ''));
    });
    socket.on('error', reject);
  });
}

/** GET /healthz over HTTPS trusting only `ca` (the self-signed certificate; it names no address, so no host check). */
function healthzStatus(port: number, ca: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const request = httpsGet({ host: '127.0.0.1', port, path: '/healthz', ca, checkServerIdentity: () => undefined, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', reject);
  });
}

test('HTTPS from the files; a replaced pair is served to new connections without a restart', async (t) => {
  const files = await tempFiles(t);
  const first = await selfSigned('api-first');
  const second = await selfSigned('api-second');
  await replace(files, first);

  const material = await readTlsMaterial(files);
  const app = await buildApp({ ...memoryWorld().deps, https: material });
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const warnings: string[] = [];
  const reloads: string[] = [];
  const reloader = reloadServerTls(app.server as unknown as HttpsServer, files, material, {
    info: (_fields, message) => reloads.push(message),
    warn: (fields, message) => warnings.push(`${message}: ${JSON.stringify(fields)}`),
  }, 20);
  t.after(() => reloader.stop());

  assert.equal(await servedCommonName(port), 'api-first');
  assert.equal(await healthzStatus(port, first.cert), 200, 'the app answers over HTTPS, verified against the served certificate');

  // Replaced before the reloader looks: a poll between the two renames would see a half-written pair and
  // warn about it (the next test covers that case), which made this one fail on a loaded machine.
  await replace(files, second);
  reloader.start();
  const deadline = Date.now() + 5000;
  while (reloads.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(reloads, ['TLS certificate reloaded']);
  assert.equal(await servedCommonName(port), 'api-second');
  assert.equal(await healthzStatus(port, second.cert), 200);
  assert.deepEqual(warnings, []);
});

test('a pair caught half-written (key of another certificate) is not applied; the old one stays served', async (t) => {
  const files = await tempFiles(t);
  const first = await selfSigned('api-first');
  const second = await selfSigned('api-second');
  await replace(files, first);
  const material = await readTlsMaterial(files);
  const applied: string[] = [];
  const warnings: string[] = [];
  const reloader = reloadServerTls({ setSecureContext: (m) => applied.push(new X509Certificate(m.cert).subject) }, files, material, {
    info: () => undefined,
    warn: (fields) => warnings.push(JSON.stringify(fields)),
  });
  assert.equal(await reloader.check(), false, 'unchanged files: nothing to do');
  await writeFile(files.certFile, second.cert); // the key is still the first one's
  assert.equal(await reloader.check(), false);
  assert.deepEqual(applied, []);
  assert.match(warnings[0] ?? '', /are not a usable certificate and key/);
  await writeFile(files.keyFile, second.key);
  assert.equal(await reloader.check(), true);
  assert.deepEqual(applied, ['CN=api-second']);
});

test('unreadable or mismatched files are a start error naming the flag and the file', async (t) => {
  const files = await tempFiles(t);
  await assert.rejects(readTlsMaterial(files), (error: Error) => error.message.startsWith(`--tls-cert-file ${files.certFile}: ENOENT`));
  const first = await selfSigned('a');
  const second = await selfSigned('b');
  await writeFile(files.certFile, first.cert);
  await writeFile(files.keyFile, second.key);
  await assert.rejects(readTlsMaterial(files), /--tls-cert-file .*tls\.crt and --tls-key-file .*tls\.key are not a usable certificate and key/);
  await writeFile(files.keyFile, 'not a key');
  await assert.rejects(readTlsMaterial(files), /not a usable certificate and key/);
});
