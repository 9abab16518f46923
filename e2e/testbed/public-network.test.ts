// The pure parts of the public network: keepalived's config, MetalLB's objects as the test bed applies them,
// the NAT'd workers' addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepalivedConfig } from './vip.ts';
import { metallbImage, metallbObjects, metallbPoolObjects } from './metallb.ts';
import { natWorkerFor } from './nat-worker.ts';
import { testbedConfig as c } from './config.ts';

test('keepalived: one VRRP instance per node, its priority, unicast to the other nodes, the VIP on its public interface', () => {
  const conf = keepalivedConfig('testbed-node-2', 'eth1');
  assert.match(conf, /priority 150\n/);
  assert.match(conf, /interface eth1\n/);
  assert.match(conf, /unicast_src_ip 10\.196\.0\.2\n/);
  assert.match(conf, /unicast_peer \{\n {4}10\.196\.0\.1\n {4}10\.196\.0\.3\n {2}\}/);
  assert.match(conf, /10\.196\.0\.10\/32 dev eth1/);
  assert.match(keepalivedConfig('testbed-node', 'kctbpub'), /priority 50\n/);
  assert.throws(() => keepalivedConfig('nowhere', 'eth1'), /no public address/);
});

test('MetalLB: the upstream manifest with local images, no webhook, short probes; CRDs left to config/crd', () => {
  const upstream = [
    { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'ipaddresspools.metallb.io' } },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'metallb-webhook-configuration' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'metallb-webhook-service', namespace: 'metallb-system' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'speaker', namespace: 'metallb-system' } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'controller', namespace: 'metallb-system' },
      spec: { template: { spec: { containers: [{ name: 'controller', image: 'quay.io/metallb/controller:v0.15.3', args: ['--port=7472'], readinessProbe: { initialDelaySeconds: 10, periodSeconds: 10 } }] } } },
    },
    {
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'speaker', namespace: 'metallb-system' },
      spec: { template: { spec: { containers: [{ name: 'speaker', image: 'quay.io/metallb/speaker:v0.15.3', args: ['--port=7472'] }] } } },
    },
  ];
  const before = JSON.stringify(upstream);
  const objects = metallbObjects(upstream);
  assert.equal(JSON.stringify(upstream), before, 'the input is not changed');
  assert.deepEqual(objects.map((o) => o.kind), ['ServiceAccount', 'Deployment', 'DaemonSet']);
  const controller = (objects[1] as unknown as { spec: { template: { spec: { containers: { image: string; args: string[]; readinessProbe: object }[] } } } }).spec.template.spec.containers[0]!;
  assert.equal(controller.image, metallbImage('controller'));
  assert.equal(controller.image, `quay.io/metallb/controller:${c.versions.metallb}`);
  assert.deepEqual(controller.args, ['--port=7472', '--webhook-mode=disabled']);
  assert.deepEqual(controller.readinessProbe, { initialDelaySeconds: 1, periodSeconds: 2 });
});

test('MetalLB: the pool is the configured range, announced only from the announcer nodes on eth1', () => {
  const [pool, l2] = metallbPoolObjects() as unknown as [{ spec: { addresses: string[] } }, { spec: { interfaces: string[]; nodeSelectors: { matchExpressions: { values: string[] }[] }[] } }];
  assert.deepEqual(pool.spec.addresses, ['10.196.0.200-10.196.0.239']);
  assert.deepEqual(l2.spec.interfaces, ['eth1']);
  assert.deepEqual(l2.spec.nodeSelectors[0]!.matchExpressions[0]!.values, ['testbed-node-2', 'testbed-node-3']);
});

test("NAT'd workers: nw1 is 192.168.77.2 behind the router's 192.168.77.1, its link ending in the router", () => {
  const w = natWorkerFor(1);
  assert.equal(w.name, 'nw1');
  assert.equal(w.netns, 'kctb-nw1');
  assert.equal(w.ip, '192.168.77.2');
  assert.equal(w.hostSideIP, '192.168.77.1');
  assert.equal(w.uplinkNetns, 'kctb-router');
  assert.equal(natWorkerFor(2).ip, '192.168.78.2');
  assert.throws(() => natWorkerFor(0));
});
