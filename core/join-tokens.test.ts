import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapTokenSecret,
  formatToken,
  generateBootstrapToken,
  joinCommand,
  joinEndpoint,
  parseToken,
  randomTokenString,
  tokenInfoFromSecret,
  DEFAULT_NODE_TOKEN_GROUP,
} from './join-tokens.ts';

test('generated tokens have kubeadm shape and differ', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const token = generateBootstrapToken();
    assert.match(token.id, /^[a-z0-9]{6}$/);
    assert.match(token.secret, /^[a-z0-9]{16}$/);
    seen.add(formatToken(token));
  }
  assert.equal(seen.size, 200);
});

test('random strings reject bytes >= 252 so every character is equally likely', () => {
  // A source that yields 255 (rejected), 252 (rejected), then 0..35: only the accepted bytes appear.
  const bytes = [255, 252, 0, 35, 36, 251];
  let i = 0;
  const source = (size: number) => Uint8Array.from({ length: size }, () => bytes[i++ % bytes.length]!);
  // 0 -> a, 35 -> 9, 36 % 36 = 0 -> a, 251 % 36 = 35 -> 9
  assert.equal(randomTokenString(4, source), 'a9a9');
});

test('parseToken round-trips and rejects bad tokens', () => {
  const token = generateBootstrapToken();
  assert.deepEqual(parseToken(formatToken(token)), token);
  for (const bad of ['abcdef', 'abcdef.0123456789abcde', 'ABCDEF.0123456789abcdef', 'abcdef.0123456789abcdef.x', '']) {
    assert.throws(() => parseToken(bad), /invalid bootstrap token/);
  }
});

test('the Secret is what kubeadm token create writes', () => {
  const secret = bootstrapTokenSecret(
    { id: 'abcdef', secret: '0123456789abcdef' },
    { expiresAt: new Date('2030-01-02T03:04:05.678Z'), description: 'workers' },
  );
  assert.equal(secret.metadata?.name, 'bootstrap-token-abcdef');
  assert.equal(secret.metadata?.namespace, 'kube-system');
  assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
  assert.deepEqual(secret.stringData, {
    'token-id': 'abcdef',
    'token-secret': '0123456789abcdef',
    expiration: '2030-01-02T03:04:05Z',
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
    'auth-extra-groups': DEFAULT_NODE_TOKEN_GROUP,
    description: 'workers',
  });
});

test('bad tokens, dates and groups are refused', () => {
  const expiresAt = new Date('2030-01-01T00:00:00Z');
  assert.throws(() => bootstrapTokenSecret({ id: 'ABCDEF', secret: '0123456789abcdef' }, { expiresAt }), /invalid bootstrap token/);
  assert.throws(() => bootstrapTokenSecret({ id: 'abcdef', secret: '0123' }, { expiresAt }), /invalid bootstrap token/);
  assert.throws(() => bootstrapTokenSecret({ id: 'abcdef', secret: '0123456789abcdef' }, { expiresAt: new Date('x') }), /expiration/);
  assert.throws(
    () => bootstrapTokenSecret({ id: 'abcdef', secret: '0123456789abcdef' }, { expiresAt, groups: ['system:masters'] }),
    /system:bootstrappers/,
  );
});

test('tokenInfoFromSecret reads data as the API server returns it, without the secret', () => {
  const written = bootstrapTokenSecret({ id: 'abc123', secret: '0123456789abcdef' }, { expiresAt: new Date('2030-01-01T00:00:00Z') });
  const data = Object.fromEntries(Object.entries(written.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  const info = tokenInfoFromSecret({ ...written, stringData: undefined, data, metadata: { ...written.metadata, creationTimestamp: new Date('2029-12-31T00:00:00Z') } });
  assert.deepEqual(info, {
    id: 'abc123',
    expiresAt: new Date('2030-01-01T00:00:00Z'),
    usages: ['authentication', 'signing'],
    groups: [DEFAULT_NODE_TOKEN_GROUP],
    createdAt: new Date('2029-12-31T00:00:00Z'),
  });
  assert.ok(!JSON.stringify(info).includes('0123456789abcdef'));
  assert.equal(tokenInfoFromSecret({ ...written, type: 'Opaque' }), undefined);
  assert.equal(tokenInfoFromSecret({ ...written, metadata: { name: 'bootstrap-token-zzzzzz' } }), undefined);
});

test('join command uses host:port and the CA hash', () => {
  const hash = `sha256:${'ab'.repeat(32)}`;
  assert.equal(
    joinCommand({ endpoint: 'https://10.0.0.5:31443', token: { id: 'abcdef', secret: '0123456789abcdef' }, caCertHash: hash }),
    `kubeadm join 10.0.0.5:31443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash ${hash}`,
  );
  assert.equal(joinEndpoint('https://tenant.example.com'), 'tenant.example.com:443');
  assert.equal(joinEndpoint('https://[fd00::1]:6443'), '[fd00::1]:6443');
  assert.equal(joinEndpoint('10.0.0.5:6443'), '10.0.0.5:6443');
  assert.throws(() => joinCommand({ endpoint: 'x:1', token: { id: 'abcdef', secret: '0123456789abcdef' }, caCertHash: 'md5:00' }), /sha256/);
});
