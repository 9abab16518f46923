import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashApiKey } from '../auth.ts';
import { createApiKey, KubeAuthStore, listApiKeys, revokeApiKey, API_KEYS_SECRET } from './auth-store.ts';
import { forgetKeyUsage, KEY_USAGE_CONFIGMAP, KubeKeyUsageWriter, readKeyUsage } from './key-usage-store.ts';
import { fakeHostPerFile } from '../../core/testing/fake-host.ts';

const NS = 'kubeception-system';
const host = fakeHostPerFile();

test('keys-cli writes the key store; the API reads it and writes last use into its own ConfigMap, never the Secret', async () => {
  const location = { client: host.client, namespace: NS };
  const now = new Date('2030-01-01T00:00:00.000Z');
  const a = await createApiKey(location, { account: 'acme', scopes: ['read'], groups: [], expiresAt: '2030-02-01T00:00:00.000Z' }, now);
  const b = await createApiKey(location, { account: 'beta', scopes: ['read', 'write'], groups: [], name: 'ci' }, new Date('2030-01-02T00:00:00.000Z'));
  assert.equal(a.record.expiresAt, '2030-02-01T00:00:00.000Z');
  assert.equal(a.keyId, hashApiKey(a.key));

  const store = new KubeAuthStore(location);
  assert.equal((await store.lookup(a.keyId))?.expiresAt, '2030-02-01T00:00:00.000Z', 'the API sees the expiry');

  const writesBefore = host.fake.requests.length;
  const writer = new KubeKeyUsageWriter(location);
  await writer.write(a.keyId, new Date('2030-01-05T10:00:00.000Z')); // creates the ConfigMap
  await writer.write(b.keyId, new Date('2030-01-05T10:01:00.000Z')); // merges into it
  await writer.write(a.keyId, new Date('2030-01-05T10:02:00.000Z'));
  const apiWrites = host.fake.requests.slice(writesBefore).filter((r) => r.method !== 'GET');
  assert.ok(apiWrites.length >= 3 && apiWrites.every((r) => r.path.includes(`/configmaps`) && !r.path.includes('/secrets')), 'last use goes to the ConfigMap only');
  assert.deepEqual(Object.fromEntries(await readKeyUsage(location)), { [a.keyId]: '2030-01-05T10:02:00.000Z', [b.keyId]: '2030-01-05T10:01:00.000Z' });

  const listed = await listApiKeys(location);
  assert.deepEqual(listed.map((k) => [k.record.account, k.record.expiresAt, k.lastUsedAt]), [
    ['acme', '2030-02-01T00:00:00.000Z', '2030-01-05T10:02:00.000Z'],
    ['beta', undefined, '2030-01-05T10:01:00.000Z'],
  ]);

  assert.equal(await revokeApiKey(location, a.keyId.slice(0, 10)), a.keyId);
  assert.deepEqual([...(await readKeyUsage(location)).keys()], [b.keyId], 'revoke drops the last-use entry too');
  await forgetKeyUsage(location, a.keyId); // already gone: nothing to do
  const secret = await host.client.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/secrets/${API_KEYS_SECRET}`);
  assert.deepEqual(Object.keys(secret.data), [b.keyId]);
  assert.equal(KEY_USAGE_CONFIGMAP, 'kubeception-api-key-usage');
});

test('no usage ConfigMap yet: every key is listed as never used; forgetting is a no-op', async () => {
  const location = { client: host.client, namespace: 'empty' };
  assert.deepEqual(await readKeyUsage(location), new Map());
  await forgetKeyUsage(location, 'a'.repeat(64));
});

test('a key written after the store read the Secret works at once; unknown keys cost a burst of reads, then one per interval', async () => {
  const location = { client: host.client, namespace: 'fresh-keys' };
  await createApiKey(location, { account: 'acme', scopes: ['read'], groups: [] });
  const store = new KubeAuthStore({ ...location, missRefreshMs: 400, missReadBurst: 3 });
  await store.load();
  const created = await createApiKey(location, { account: 'late', scopes: ['read'], groups: [] });
  const reads = () => host.fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/namespaces/fresh-keys/secrets/${API_KEYS_SECRET}`)).length;
  const before = reads();
  assert.equal((await store.lookup(created.keyId))?.account, 'late', 'a new key is not refused');
  for (let i = 0; i < 20; i++) assert.equal(await store.lookup(hashApiKey(`guess-${i}`)), undefined);
  const flood = reads() - before;
  assert.ok(flood >= 3 && flood <= 4, `${flood} reads for 21 misses: the burst of 3 (and at most one refill)`);
  // While the budget is used up a brand-new key may be refused, but only until the next read is allowed.
  const later = await createApiKey(location, { account: 'later', scopes: ['read'], groups: [] });
  await new Promise((resolve) => setTimeout(resolve, 450));
  assert.equal((await store.lookup(later.keyId))?.account, 'later');
});
