import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigMap, Namespace, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { renderFlannel } from './flannel.ts';
import { resolveInput } from './input.ts';
import { renderTenantBootstrap } from './plan.ts';
import { assessBootstrap } from './status.ts';
import type { TenantObject } from './objects.ts';
import { observedWith, sampleInput } from './testing.ts';

const MODELS = { ConfigMap, Namespace, ServiceAccount, DaemonSet, ClusterRole, ClusterRoleBinding } as const;

function find<T>(objects: TenantObject[], kind: string, name: string): T {
  const entry = objects.find((o) => o.object.kind === kind && o.object.metadata?.name === name);
  assert.ok(entry, `${kind} ${name} is rendered`);
  return entry.object as unknown as T;
}

test('flannel: upstream objects and names, schema-valid, every object labelled cni, namespace first', async () => {
  const objects = renderFlannel(resolveInput(await sampleInput()));
  assert.deepEqual(objects.map((o) => `${o.object.kind}/${o.object.metadata?.namespace ?? '-'}/${o.object.metadata?.name}`), [
    'Namespace/-/kube-flannel',
    'ClusterRole/-/flannel',
    'ClusterRoleBinding/-/flannel',
    'ServiceAccount/kube-flannel/flannel',
    'ConfigMap/kube-flannel/kube-flannel-cfg',
    'DaemonSet/kube-flannel/kube-flannel-ds',
  ]);
  for (const { object, part, policy } of objects) {
    new MODELS[object.kind as keyof typeof MODELS](object as never).validate();
    assert.equal(object.metadata?.labels?.['kubeception.io/addon'], 'cni');
    assert.equal(object.metadata?.labels?.['app.kubernetes.io/managed-by'], 'kubeception');
    assert.deepEqual([part, policy], ['cni', 'apply']);
  }
  assert.equal(find<Namespace>(objects, 'Namespace', 'kube-flannel').metadata!.labels!['pod-security.kubernetes.io/enforce'], 'privileged');
  const role = find<ClusterRole>(objects, 'ClusterRole', 'flannel');
  assert.deepEqual(role.rules!.map((r) => `${r.resources!.join()}:${r.verbs.join()}`), ['pods:get', 'nodes:get,list,watch', 'nodes/status:patch']);
  const binding = find<ClusterRoleBinding>(objects, 'ClusterRoleBinding', 'flannel');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'flannel', namespace: 'kube-flannel' }]);
});

test('flannel: net-conf.json is the tenant pod CIDR over VXLAN; cni-conf.json chains flannel and portmap at a CNI version the plugin speaks', async () => {
  const objects = renderFlannel(resolveInput(await sampleInput((i) => (i.spec.networkProfile.podCIDR = '10.250.0.0/16'))));
  const cm = find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'kube-flannel-cfg');
  assert.deepEqual(JSON.parse(cm.data['net-conf.json']!), { Network: '10.250.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan' } });
  const cni = JSON.parse(cm.data['cni-conf.json']!) as { cniVersion: string; plugins: { type: string; delegate?: unknown; capabilities?: unknown }[] };
  assert.equal(cni.cniVersion, '0.3.1');
  assert.deepEqual(cni.plugins.map((p) => p.type), ['flannel', 'portmap']);
  assert.deepEqual(cni.plugins[0]!.delegate, { hairpinMode: true, isDefaultGateway: true });
  assert.deepEqual(cni.plugins[1]!.capabilities, { portMappings: true });

  const v6 = renderFlannel(resolveInput(await sampleInput((i) => {
    i.spec.networkProfile.podCIDR = 'fd00:10:244::/56';
    i.spec.networkProfile.serviceCIDR = 'fd00:10:96::/112';
    i.spec.networkProfile.dnsServiceIP = 'fd00:10:96::a';
  })));
  const net6 = JSON.parse(find<{ data: Record<string, string> }>(v6, 'ConfigMap', 'kube-flannel-cfg').data['net-conf.json']!) as Record<string, unknown>;
  assert.deepEqual([net6.EnableIPv4, net6.EnableIPv6, net6.IPv6Network, net6.Network], [false, true, 'fd00:10:244::/56', undefined]);
});

test('flannel: the DaemonSet writes the plugin and conflist into the kubeadm node paths, flanneld on the host network reaching the endpoint', async () => {
  const input = resolveInput(await sampleInput((i) => (i.imagePullPolicy = 'Never')));
  const objects = renderFlannel(input);
  const ds = find<IDaemonSet>(objects, 'DaemonSet', 'kube-flannel-ds');
  const pod = ds.spec!.template.spec!;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.serviceAccountName, 'flannel');
  assert.equal(pod.priorityClassName, 'system-node-critical');
  assert.deepEqual(ds.spec!.selector.matchLabels, { app: 'flannel' });
  const volumes = Object.fromEntries(pod.volumes!.map((v) => [v.name, v.hostPath?.path ?? `configMap:${v.configMap?.name}`]));
  assert.deepEqual(volumes, { run: '/run/flannel', 'cni-plugin': '/opt/cni/bin', cni: '/etc/cni/net.d', 'flannel-cfg': 'configMap:kube-flannel-cfg', 'xtables-lock': '/run/xtables.lock' });
  const [plugin, conf] = pod.initContainers!;
  assert.equal(plugin!.image, 'ghcr.io/flannel-io/flannel-cni-plugin:v0.9.1');
  assert.deepEqual([...plugin!.command!, ...plugin!.args!], ['cp', '-f', '/flannel', '/opt/cni/bin/flannel']);
  assert.deepEqual(plugin!.volumeMounts!.map((m) => `${m.name}:${m.mountPath}`), ['cni-plugin:/opt/cni/bin']);
  assert.equal(conf!.image, 'ghcr.io/flannel-io/flannel:v0.28.10');
  assert.deepEqual([...conf!.command!, ...conf!.args!], ['/opt/bin/install-conf', '/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist']);
  const flanneld = pod.containers[0]!;
  assert.equal(flanneld.image, 'ghcr.io/flannel-io/flannel:v0.28.10');
  assert.equal(flanneld.imagePullPolicy, 'Never');
  assert.deepEqual([...flanneld.command!, ...flanneld.args!], ['/opt/bin/flanneld', '--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081']);
  assert.deepEqual(flanneld.securityContext?.capabilities?.add, ['NET_ADMIN', 'NET_RAW']);
  const env = Object.fromEntries(flanneld.env!.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
  assert.equal(env.KUBERNETES_SERVICE_HOST, '10.0.0.5');
  assert.equal(env.KUBERNETES_SERVICE_PORT, '31443');
  assert.equal(env.POD_NAMESPACE, 'metadata.namespace');

  const registry = renderFlannel(resolveInput(await sampleInput((i) => (i.flannelImageRegistry = 'mirror.local/flannel-io/'))));
  assert.equal(find<IDaemonSet>(registry, 'DaemonSet', 'kube-flannel-ds').spec!.template.spec!.containers[0]!.image, 'mirror.local/flannel-io/flannel:v0.28.10');
  // A new pod CIDR rolls flanneld, which reads net-conf.json once.
  const checksum = (o: TenantObject[]) => find<IDaemonSet>(o, 'DaemonSet', 'kube-flannel-ds').spec!.template.metadata!.annotations!['kubeception.io/config-checksum'];
  const other = renderFlannel(resolveInput(await sampleInput((i) => (i.spec.networkProfile.podCIDR = '10.250.0.0/16'))));
  assert.notEqual(checksum(objects), checksum(other));
});

test('the CNI add-on is on by default and last in the plan; off, nothing is rendered and every kind is searched for leftovers', async () => {
  const on = renderTenantBootstrap(await sampleInput((i) => delete (i.spec.addons as Partial<typeof i.spec.addons>).cni));
  assert.equal(on.input.addons.cni, true);
  assert.equal(on.objects.at(-1)!.object.kind, 'DaemonSet');
  assert.equal(on.objects.at(-1)!.part, 'cni');

  const off = renderTenantBootstrap(await sampleInput((i) => (i.spec.addons.cni.enabled = false)));
  assert.ok(!off.objects.some((o) => o.part === 'cni'));
  const inventory = off.addons.find((a) => a.addon === 'cni')!;
  assert.equal(inventory.enabled, false);
  assert.deepEqual(inventory.desired, []);
  assert.equal(inventory.labelSelector, 'app.kubernetes.io/managed-by=kubeception,kubeception.io/addon=cni');
  assert.deepEqual(inventory.kinds.map((k) => `${k.apiVersion} ${k.kind} ${k.namespace ?? '-'}`), [
    'v1 Namespace -',
    'rbac.authorization.k8s.io/v1 ClusterRole -',
    'rbac.authorization.k8s.io/v1 ClusterRoleBinding -',
    'v1 ServiceAccount kube-flannel',
    'v1 ConfigMap kube-flannel',
    'apps/v1 DaemonSet kube-flannel',
  ]);
  const report = assessBootstrap(off, new Map()).find((r) => r.type === 'CNI')!;
  assert.deepEqual([report.status, report.reason], ['True', 'Disabled']);
});

test('the CNI condition: True with no nodes or flannel ready on every node, False while a node has none', async () => {
  const plan = renderTenantBootstrap(await sampleInput());
  const judge = (status: Record<string, number>) => assessBootstrap(plan, observedWith(plan, 'cni', status)).find((r) => r.type === 'CNI')!;
  const none = judge({ desiredNumberScheduled: 0, numberReady: 0, updatedNumberScheduled: 0 });
  assert.deepEqual([none.status, none.reason], ['True', 'NoNodes']);
  const all = judge({ desiredNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2 });
  assert.deepEqual([all.status, all.reason, all.message], ['True', 'Ready', 'flannel (VXLAN) 2/2 nodes ready']);
  const some = judge({ desiredNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2 });
  assert.deepEqual([some.status, some.reason], ['False', 'NotReady']);
  assert.match(some.message, /^flannel 1\/2 nodes ready; pods on the other nodes have no pod network/);
});
