// Manages API keys in the host cluster: `node api/keys-cli.ts create|list|revoke`.
import { parseArgs } from 'node:util';
import { SCOPES } from './types.ts';
import { createApiKey, listApiKeys, revokeApiKey, type KeyStoreLocation } from './host/auth-store.ts';
import { keyExpiry } from './key-expiry.ts';
import { KubeClient, loadHostKubeConfig } from './host/kube.ts';

const USAGE = `Usage:
  node api/keys-cli.ts create --account <account> [--scopes read,write,kubeconfig,join-tokens] [--groups g1,g2] [--name <text>]
                              [--expires-in <30d|12h|90m|3600s> | --expires-at <RFC 3339 time>]
  node api/keys-cli.ts list   (id, account, scopes, groups, created, expires, last used, name)
  node api/keys-cli.ts revoke <key id prefix, 8+ hex digits>

Common options:
  --kubeconfig <path>   host cluster (KUBECONFIG)
  --namespace <ns>      namespace of the key Secret (KUBECEPTION_API_NAMESPACE, default kubeception-system)

create prints the key once: it is stored only as its sha256. Scopes (default all): read (GET), write
(create, resize, upgrade, delete clusters), kubeconfig (mint kubeconfigs), join-tokens (mint join tokens).
Kubeconfig users are always portal:<account>:<name>; groups may be portal:<account>:* or one of --groups,
the allow-list of groups outside the account's space (e.g. kubeception:tenant-admins, which the operator
binds to cluster-admin); system:* and the names kubeadm or the operator reserve are refused. An expired key is refused (401 saying it expired); without --expires-* a key
works until revoked. "last used" is when the API last admitted the key, to the minute (ConfigMap
kubeception-api-key-usage); this CLI is the only writer of the key store Secret, the API only reads it.`;

const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      scopes: { type: 'string', default: SCOPES.join(',') },
      groups: { type: 'string' },
      name: { type: 'string' },
      'expires-in': { type: 'string' },
      'expires-at': { type: 'string' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [command, argument] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const client = new KubeClient(loadHostKubeConfig(values.kubeconfig ?? process.env.KUBECONFIG));
  const location: KeyStoreLocation = { client, namespace: values.namespace ?? process.env.KUBECEPTION_API_NAMESPACE ?? 'kubeception-system' };
  try {
    if (command === 'create') {
      if (values.account === undefined) throw new Error('create needs --account');
      const now = new Date();
      const expiresAt = keyExpiry({ expiresIn: values['expires-in'], expiresAt: values['expires-at'] }, now);
      const created = await createApiKey(
        location,
        {
          account: values.account,
          scopes: list(values.scopes),
          groups: list(values.groups),
          ...(values.name === undefined ? {} : { name: values.name }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
        },
        now,
      );
      process.stdout.write(`${JSON.stringify({ key: created.key, keyId: created.keyId, ...created.record }, null, 2)}\n`);
    } else if (command === 'list') {
      const now = Date.now();
      for (const { keyId, record, lastUsedAt } of await listApiKeys(location)) {
        const expiry = record.expiresAt === undefined ? 'expires=never' : `${Date.parse(record.expiresAt) <= now ? 'EXPIRED' : 'expires'}=${record.expiresAt}`;
        process.stdout.write(
          `${keyId.slice(0, 16)}  ${record.account}  [${record.scopes.join(',')}]  groups=[${record.groups.join(',')}]  created=${record.createdAt}  ${expiry}  last-used=${lastUsedAt ?? 'never'}  ${record.name ?? ''}\n`,
        );
      }
    } else if (command === 'revoke') {
      const keyId = await revokeApiKey(location, argument ?? '');
      process.stdout.write(`revoked ${keyId}\n`);
    } else {
      throw new Error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

process.exit(await main());
