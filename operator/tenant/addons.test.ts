import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import { renderCoreDNS, defaultCorefile } from './coredns.ts';
import { resolveInput } from './input.ts';
import { renderKubeProxy } from './kube-proxy.ts';
import type { TenantObject } from './objects.ts';
import { sampleInput } from './testing.ts';

const MODELS = { ConfigMap, Service, ServiceAccount, DaemonSet, Deployment, ClusterRole, ClusterRoleBinding, Role, RoleBinding } as const;

function find<T>(objects: TenantObject[], kind: string, name: string): { entry: TenantObject; object: T } {
  const entry = objects.find((o) => o.object.kind === kind && o.object.metadata?.name === name);
  assert.ok(entry, `${kind} ${name} is rendered`);
  return { entry, object: entry.object as unknown as T };
}

function checkSchemaAndLabels(objects: TenantObject[], addon: string): void {
  for (const { object } of objects) {
    const model = MODELS[object.kind as keyof typeof MODELS];
    assert.ok(model, `unexpected kind ${object.kind}`);
    new model(object as never).validate();
    assert.equal(object.metadata?.labels?.['kubeception.io/addon'], addon, `${object.kind} ${object.metadata?.name} carries the add-on label`);
    assert.equal(object.metadata?.labels?.['app.kubernetes.io/managed-by'], 'kubeception');
    if (object.metadata?.namespace !== undefined) assert.equal(object.metadata.namespace, 'kube-system');
  }
}

test('CoreDNS: kubeadm objects, image from the registry, Service on the spec DNS IP, schema-valid', async () => {
  const input = resolveInput(await sampleInput((i) => {
    i.spec.networkProfile.dnsServiceIP = '10.96.0.53';
    i.imageRegistry = 'registry.local';
    i.imagePullPolicy = 'Never';
  }));
  const objects = renderCoreDNS(input);
  checkSchemaAndLabels(objects, 'coredns');
  assert.deepEqual(objects.map((o) => `${o.object.kind}/${o.object.metadata?.name}`), [
    'ServiceAccount/coredns',
    'ClusterRole/system:coredns',
    'ClusterRoleBinding/system:coredns',
    'ConfigMap/coredns',
    'Deployment/coredns',
    'Service/kube-dns',
  ]);
  const { object: deployment } = find<IDeployment>(objects, 'Deployment', 'coredns');
  const pod = deployment.spec!.template.spec!;
  const container = pod.containers[0]!;
  assert.equal(container.image, 'registry.local/coredns/coredns:v1.14.2');
  assert.equal(container.imagePullPolicy, 'Never');
  assert.deepEqual(container.args, ['-conf', '/etc/coredns/Corefile']);
  assert.equal(container.command, undefined, 'the image entrypoint /coredns runs');
  assert.equal(deployment.spec!.replicas, 2);
  assert.equal(pod.serviceAccountName, 'coredns');
  assert.equal(pod.dnsPolicy, 'Default', 'CoreDNS must not resolve through itself');
  assert.deepEqual(pod.volumes?.[0]?.configMap?.name, 'coredns');
  assert.deepEqual(deployment.spec!.selector.matchLabels, deployment.spec!.template.metadata!.labels);

  const { object: service } = find<IService>(objects, 'Service', 'kube-dns');
  assert.equal(service.spec!.clusterIP, '10.96.0.53');
  assert.deepEqual(service.spec!.selector, { 'k8s-app': 'kube-dns' });
  assert.deepEqual(service.spec!.ports!.map((p) => `${p.name}:${p.protocol}/${p.port}`), ['dns:UDP/53', 'dns-tcp:TCP/53', 'metrics:TCP/9153']);
});

test('CoreDNS: the Corefile is created once and then left to the users', async () => {
  const objects = renderCoreDNS(resolveInput(await sampleInput((i) => (i.spec.networkProfile.clusterDomain = 'tenant.example'))));
  const { entry, object } = find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'coredns');
  assert.equal(entry.policy, 'create-only');
  // Everything else is applied every time.
  assert.deepEqual(objects.filter((o) => o.policy === 'create-only').map((o) => o.object.metadata?.name), ['coredns']);
  const corefile = object.data.Corefile!;
  assert.equal(corefile, defaultCorefile('tenant.example'));
  assert.match(corefile, /kubernetes tenant\.example in-addr\.arpa ip6\.arpa \{/);
  assert.match(corefile, /disable success tenant\.example/);
  for (const plugin of ['errors', 'ready', 'reload', 'loop', 'loadbalance', 'forward . /etc/resolv.conf', 'prometheus :9153']) {
    assert.ok(corefile.includes(`    ${plugin}`), plugin);
  }
  // Braces balance: CoreDNS refuses a Corefile whose blocks do not close.
  assert.equal((corefile.match(/\{/g) ?? []).length, (corefile.match(/\}/g) ?? []).length);
});

test('kube-proxy: iptables mode, the tenant pod CIDR, conntrack left alone, token kubeconfig to the endpoint', async () => {
  const input = resolveInput(await sampleInput((i) => (i.spec.networkProfile.podCIDR = '10.250.0.0/16')));
  const objects = renderKubeProxy(input);
  checkSchemaAndLabels(objects, 'kube-proxy');
  const { object: cm } = find<{ data: Record<string, string>; metadata: { annotations: Record<string, string> } }>(objects, 'ConfigMap', 'kube-proxy');
  assert.deepEqual(Object.keys(cm.data).sort(), ['config.conf', 'kubeconfig.conf']);
  const config = parse(cm.data['config.conf']!) as Record<string, unknown>;
  assert.equal(config.apiVersion, 'kubeproxy.config.k8s.io/v1alpha1');
  assert.equal(config.kind, 'KubeProxyConfiguration');
  assert.equal(config.mode, 'iptables');
  assert.equal(config.clusterCIDR, '10.250.0.0/16');
  assert.deepEqual(config.conntrack, { maxPerCore: 0, tcpCloseWaitTimeout: '0s', tcpEstablishedTimeout: '0s' });
  assert.deepEqual(config.clientConnection, { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' });
  const kubeconfig = parse(cm.data['kubeconfig.conf']!) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
  assert.equal(kubeconfig.clusters[0]!.cluster.server, 'https://10.0.0.5:31443');
  assert.equal(kubeconfig.clusters[0]!.cluster['certificate-authority'], '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
  assert.equal(kubeconfig.users[0]!.user.tokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');

  const { object: ds } = find<IDaemonSet>(objects, 'DaemonSet', 'kube-proxy');
  const pod = ds.spec!.template.spec!;
  const container = pod.containers[0]!;
  assert.equal(container.image, 'registry.k8s.io/kube-proxy:v1.36.5');
  assert.deepEqual(container.command, ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)']);
  assert.equal(container.env?.[0]?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
  assert.equal(pod.hostNetwork, true);
  assert.equal(container.securityContext?.privileged, true);
  const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
  const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v.hostPath?.path ?? `configMap:${v.configMap?.name}`]));
  assert.deepEqual(Object.fromEntries(Object.entries(mounts).map(([path, name]) => [path, volumes[name]])), {
    '/var/lib/kube-proxy': 'configMap:kube-proxy',
    '/run/xtables.lock': '/run/xtables.lock',
    '/lib/modules': '/lib/modules',
  });
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
  assert.equal(pod.serviceAccountName, 'kube-proxy');
});

test('kube-proxy: bindings and the ConfigMap reader for joining nodes; config changes roll the pods', async () => {
  const objects = renderKubeProxy(resolveInput(await sampleInput()));
  const { object: crb } = find<{ roleRef: { name: string }; subjects: unknown[] }>(objects, 'ClusterRoleBinding', 'kubeadm:node-proxier');
  assert.equal(crb.roleRef.name, 'system:node-proxier');
  assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace: 'kube-system' }]);
  const { object: role } = find<{ rules: unknown }>(objects, 'Role', 'kube-proxy');
  assert.deepEqual(role.rules, [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['kube-proxy'] }]);
  const { object: rb } = find<{ subjects: { name: string }[] }>(objects, 'RoleBinding', 'kube-proxy');
  assert.deepEqual(rb.subjects.map((s) => s.name), ['system:bootstrappers:kubeadm:default-node-token']);

  const checksum = (o: TenantObject[]) => find<IDaemonSet>(o, 'DaemonSet', 'kube-proxy').object.spec!.template.metadata!.annotations!['kubeception.io/config-checksum'];
  const other = renderKubeProxy(resolveInput(await sampleInput((i) => (i.node = { kubeProxy: { mode: 'nftables' } }))));
  assert.notEqual(checksum(objects), checksum(other));
  assert.equal(parse((find<{ data: Record<string, string> }>(other, 'ConfigMap', 'kube-proxy').object.data['config.conf'])!).mode, 'nftables');
  assert.equal(checksum(objects), checksum(renderKubeProxy(resolveInput(await sampleInput()))));
});
