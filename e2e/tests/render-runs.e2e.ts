// The rendered tenant control plane really runs: a TenantControlPlane as the API server defaults it, the
// PKI Secrets from operator/pki, the objects from operator/render applied through the operator's apply
// path, in a namespace enforcing the `restricted` Pod Security Standard. No operator runs here: this test
// plays its reconcile by hand, so a failure points at the rendered manifests (flags, files, users, probes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, VersionApi, type V1Secret } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { eventually, testbed } from '../support/testbed.ts';
import { testbedConfig } from '../testbed/config.ts';
import { KubeClient, apply, generateTenantPki, renderPkiSecrets, resolveTenant, type Applicable, type TenantControlPlane, type TenantPkiInput } from '../../core/index.ts';
import { renderApiServerService, renderTenant, secretDataChecksum } from '../../operator/render/index.ts';

const FIELD_MANAGER = 'kubeception-render-e2e';
const TCP_PATH = (ns: string, name = '') => `/apis/kubeception.io/v1alpha1/namespaces/${ns}/tenantcontrolplanes${name ? `/${name}` : ''}`;

/** GET without credentials, trusting `caPem`: what a kubelet probe or `kubeadm join` discovery does. */
function anonymousGet(url: string, caPem: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: caPem, method: 'GET', timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.end();
  });
}

/**
 * The test bed's hostPath provisioner means its folders to be world-writable (hostPath gets no fsGroup),
 * but mkdir's mode passes through the umask and they come out 0755: etcd, non-root, cannot create its data
 * dir. Until e2e/testbed/local-provisioner.ts chmods them, open the claims' folders here. A real host
 * cluster's provisioner honours fsGroup, which the etcd pods set.
 */
async function openTestbedVolumes(kc: KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const volumes = await eventually('the etcd claims to be bound', async () => {
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace });
    const bound = claims.items.filter((c) => c.status?.phase === 'Bound');
    return bound.length > 0 && bound.length === claims.items.length ? bound.map((c) => c.spec!.volumeName!) : undefined;
  }, 60_000, 1000);
  for (const volume of volumes) {
    const pv = await core.readPersistentVolume({ name: volume });
    const path = pv.spec?.hostPath?.path;
    if (path?.startsWith(`${testbedConfig.volumesDir}/`)) await chmod(path, 0o777);
  }
}

const shapes = [
  { etcd: 1 as const, controlPlane: 1 },
  // Three members find each other by DNS and talk peer TLS; two apiservers share the leases.
  { etcd: 3 as const, controlPlane: 2 },
];

for (const shape of shapes) test(`a rendered tenant control plane (${shape.etcd} etcd, ${shape.controlPlane} apiservers) starts and serves its API through the host Service`, { timeout: 600_000 }, async (t) => {
  const tb = await testbed();
  const client = new KubeClient(tb.kubeConfig);
  const core = tb.kubeConfig.makeApiClient(CoreV1Api);
  const apps = tb.kubeConfig.makeApiClient(AppsV1Api);
  const namespace = `render-run-${Math.random().toString(36).slice(2, 8)}`;
  await core.createNamespace({
    body: {
      metadata: {
        name: namespace,
        labels: { 'kubeception.io/e2e': 'true', 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    },
  });
  t.after(async () => {
    if (!process.env.KUBECEPTION_KEEP_TEST_NAMESPACES) {
      // An operator watching all namespaces of the shared test bed may have put its finalizer on our
      // TenantControlPlane; no operator owns this one, so drop it or the namespace never goes away.
      await client
        .request('PATCH', TCP_PATH(namespace, 'demo'), { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' })
        .catch(() => undefined);
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    }
    await client.close();
  });

  // The CRD (idempotent: other tests may have installed it), then a TenantControlPlane the API defaults.
  const crd = parse(await readFile(join(testbedConfig.repoRoot, 'crds', 'kubeception.io_tenantcontrolplanes.yaml'), 'utf8')) as Applicable;
  await apply(client, crd, { fieldManager: FIELD_MANAGER });
  const name = 'demo';
  const tcp = await eventually('the TenantControlPlane to be created once the CRD is served', () =>
    client.request<TenantControlPlane>('POST', TCP_PATH(namespace), {
      body: {
        apiVersion: 'kubeception.io/v1alpha1',
        kind: 'TenantControlPlane',
        metadata: { name, namespace },
        spec: {
          version: testbedConfig.versions.kubernetes,
          networkProfile: { serviceType: 'NodePort' },
          // Token requests: the test bed is one 2-core node shared with other tests; this checks
          // that the manifests work, not how they are sized.
          etcd: { replicas: shape.etcd, resources: { requests: { cpu: '10m', memory: '64Mi' } } },
          controlPlane: {
            replicas: shape.controlPlane,
            resources: {
              apiServer: { requests: { cpu: '10m', memory: '64Mi' } },
              controllerManager: { requests: { cpu: '10m', memory: '32Mi' } },
              scheduler: { requests: { cpu: '10m', memory: '32Mi' } },
            },
          },
        },
      },
    }), 30_000);

  const options = {
    imagePullPolicy: 'Never' as const,
    // The test bed's etcd image, built from the binary it runs itself.
    etcdVersion: `${testbedConfig.versions.etcd.replace(/^v/, '')}-0`,
  };

  // 1. The API Service first: its node port and ClusterIP go into the endpoint and the certificate.
  // The defaulted object from the API is what the renderer takes; without Secret checksums it refuses.
  assert.throws(() => renderTenant(resolveTenant(tcp), { ...options, secretChecksums: {} }), /no checksum/);
  const service = await apply<Applicable & { spec: { clusterIP: string; ports: { nodePort: number }[] } }>(
    client,
    JSON.parse(JSON.stringify(renderApiServerService(resolveTenant(tcp)))) as Applicable,
    { fieldManager: FIELD_MANAGER },
  );
  const nodePort = service.spec.ports[0]!.nodePort;
  const endpoint = `https://${testbedConfig.hostIP}:${nodePort}`;

  // 2. The PKI Secrets, as operator/pki renders them.
  const pkiInput: TenantPkiInput = {
    name,
    namespace,
    endpoint,
    networkProfile: tcp.spec.networkProfile,
    serviceAddresses: [service.spec.clusterIP],
    hostClusterDomain: testbedConfig.clusterDomain,
  };
  const owner = { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', name, uid: tcp.metadata!.uid!, controller: true, blockOwnerDeletion: true };
  const secrets = renderPkiSecrets(pkiInput, await generateTenantPki(pkiInput), { owner });
  for (const secret of secrets) await apply(client, secret as unknown as Applicable, { fieldManager: FIELD_MANAGER });
  const secretChecksums = Object.fromEntries(secrets.map((s) => [s.metadata.name, secretDataChecksum(s.data)]));

  // 3. Everything else, in the renderer's order.
  const { objects, warnings } = renderTenant(resolveTenant(tcp), { ...options, secretChecksums });
  assert.deepEqual(warnings, []);
  for (const object of objects) {
    await apply(client, JSON.parse(JSON.stringify(object)) as Applicable, { fieldManager: FIELD_MANAGER });
  }

  await openTestbedVolumes(tb.kubeConfig, namespace);

  const podSummary = async () => {
    const pods = await core.listNamespacedPod({ namespace });
    return pods.items
      .map((p) => `${p.metadata!.name}: ${p.status?.phase} ${(p.status?.containerStatuses ?? [])
        .map((c) => `${c.name}=${c.ready ? 'ready' : JSON.stringify(c.state?.waiting ?? c.state?.terminated ?? c.lastState?.terminated ?? {})}/${c.restartCount}`)
        .join(',')}${p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status !== 'True')?.message ?? ''}`)
      .join('; ');
  };
  try {
    await eventually('etcd ready', async () => {
      const sts = await apps.readNamespacedStatefulSet({ namespace, name: `${name}-etcd` });
      return (sts.status?.readyReplicas ?? 0) === shape.etcd ? sts : undefined;
    }, 180_000, 2000);
    await eventually('control plane available', async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name: `${name}-control-plane` });
      return (d.status?.availableReplicas ?? 0) === shape.controlPlane ? d : undefined;
    }, 240_000, 2000);
  } catch (err) {
    assert.fail(`${String(err)}\npods: ${await podSummary()}`);
  }

  // 4. The tenant API answers through the NodePort, with the super-admin kubeconfig operator/pki made.
  const superAdmin = secrets.find((s) => s.metadata.name === `${name}-super-admin-kubeconfig`) as V1Secret;
  const kc = new KubeConfig();
  kc.loadFromString(Buffer.from(superAdmin.data!['super-admin.conf']!, 'base64').toString('utf8'));
  assert.equal(kc.getCurrentCluster()?.server, endpoint);
  const version = await eventually('tenant /version', () => kc.makeApiClient(VersionApi).getCode(), 60_000, 1000);
  assert.equal(version.gitVersion, testbedConfig.versions.kubernetes);
  const tenantCore = kc.makeApiClient(CoreV1Api);
  const namespaces = await tenantCore.listNamespace();
  assert.ok(namespaces.items.some((n) => n.metadata?.name === 'kube-system'), 'the tenant has its own kube-system');
  // The controller-manager and scheduler (kubeconfigs on 127.0.0.1 in the same pod) hold their leases.
  const coordination = await eventually('leader leases in the tenant', async () => {
    const leases = await kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: 'kube-system' });
    const holders = leases.items.map((l) => l.metadata?.name);
    return holders.includes('kube-controller-manager') && holders.includes('kube-scheduler') ? holders : undefined;
  }, 120_000, 2000);
  assert.ok(coordination.length >= 2);

  // 5. Anonymous access: health endpoints yes, the API no (AuthenticationConfiguration conditions).
  const caPem = Buffer.from(secrets.find((s) => s.metadata.name === `${name}-ca`)!.data['ca.crt']!, 'base64').toString('utf8');
  assert.equal(await anonymousGet(`${endpoint}/readyz`, caPem), 200);
  assert.equal(await anonymousGet(`${endpoint}/livez`, caPem), 200);
  assert.equal(await anonymousGet(`${endpoint}/api/v1/namespaces`, caPem), 401);
  // cluster-info does not exist yet (operator/tenant makes it), but the request is authenticated as
  // anonymous and reaches authorization: 403 (RBAC), not 401.
  assert.equal(await anonymousGet(`${endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info`, caPem), 403);
});
