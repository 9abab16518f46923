// Fuzzes the API with schemathesis without a test bed: the app runs in this process on the in-memory
// stores of api/testing.ts (real validation, serialisation, PKI and join-token code), on loopback.
//
//   node e2e/api-fuzz/in-process.ts [--max-examples N] [--seed N] [-- extra schemathesis args]
//
// Exits non-zero when schemathesis found a failure (a 5xx, an answer that does not match the
// document, an invalid request accepted).
import { parseArgs } from 'node:util';
import { buildApp } from '../../api/app.ts';
import { MemoryClusterStore } from '../../api/cluster-store.ts';
import type { TenantControlPlane } from '../../api/tcp.ts';
import { memoryWorld, readyStatus, testKey } from '../../api/testing.ts';
import { SCOPES } from '../../api/types.ts';
import { fuzzApi } from './schemathesis.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'max-examples': { type: 'string' }, seed: { type: 'string' } },
});

/** Clusters that are ready the moment they exist, as if an operator had provisioned them: the fuzzer reaches kubeconfigs and join tokens. */
class InstantlyReadyClusters extends MemoryClusterStore {
  override async create(tcp: TenantControlPlane): Promise<TenantControlPlane> {
    const created = await super.create(tcp);
    this.setStatus(created.metadata.name, readyStatus());
    return (await this.get(created.metadata.name)) ?? created;
  }
}

const world = memoryWorld({
  rateLimit: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
  authFailureLimit: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
});
// On the world's clock, like every other store of it.
world.deps.clusters = new InstantlyReadyClusters({ clock: world.clock });
const key = testKey('fuzz');
world.auth.add(key, { account: 'fuzz', scopes: [...SCOPES], groups: ['kubeception:tenant-admins'] });
const app = await buildApp(world.deps);
const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
try {
  const result = await fuzzApi(
    {
      baseUrl,
      apiKey: key,
      ...(values['max-examples'] === undefined ? {} : { maxExamples: Number(values['max-examples']) }),
      ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
      extraArgs: positionals,
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  process.stdout.write(result.output);
  process.exitCode = result.ok ? 0 : 1;
} finally {
  await app.close();
}
