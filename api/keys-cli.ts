// Manages API keys in the host cluster: `node api/keys-cli.ts create|list|revoke`.
import { parseArgs } from 'node:util';
import { SCOPES } from './types.ts';
import { createApiKey, listApiKeys, revokeApiKey, type KeyStoreLocation } from './host/auth-store.ts';
import { KubeClient, loadHostKubeConfig } from './host/kube.ts';

const USAGE = `Usage:
  node api/keys-cli.ts create --account <account> [--scopes read,write,kubeconfig] [--groups g1,g2] [--name <text>]
  node api/keys-cli.ts list
  node api/keys-cli.ts revoke <key id prefix, 8+ hex digits>

Common options:
  --kubeconfig <path>   host cluster (KUBECONFIG)
  --namespace <ns>      namespace of the key Secret (KUBECEPTION_API_NAMESPACE, default kubeception-system)

create prints the key once: it is stored only as its sha256. --groups are the groups the account may
put into kubeconfig certificates (e.g. kubeception:tenant-admins, which the operator binds to cluster-admin);
system:* groups are refused.`;

const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      scopes: { type: 'string', default: SCOPES.join(',') },
      groups: { type: 'string' },
      name: { type: 'string' },
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
      const created = await createApiKey(location, {
        account: values.account,
        scopes: list(values.scopes),
        groups: list(values.groups),
        ...(values.name === undefined ? {} : { name: values.name }),
      });
      process.stdout.write(`${JSON.stringify({ key: created.key, keyId: created.keyId, ...created.record }, null, 2)}\n`);
    } else if (command === 'list') {
      for (const { keyId, record } of await listApiKeys(location)) {
        process.stdout.write(`${keyId.slice(0, 16)}  ${record.account}  [${record.scopes.join(',')}]  groups=[${record.groups.join(',')}]  ${record.createdAt}  ${record.name ?? ''}\n`);
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
