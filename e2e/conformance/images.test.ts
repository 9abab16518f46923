import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planImages } from './images.ts';

test('the suite images with a recipe are made, every tag of a repository; the others are named as missing', () => {
  const refs = [
    'registry.k8s.io/e2e-test-images/agnhost:2.66.1', 'registry.k8s.io/e2e-test-images/agnhost:2.55', 'registry.k8s.io/e2e-test-images/busybox:1.37.0-1',
    'registry.k8s.io/e2e-test-images/nginx:1.27-0', 'registry.k8s.io/e2e-test-images/glibc-dns-testing:2.0.0', 'registry.k8s.io/etcd:3.6.8-0',
    'registry.k8s.io/sig-storage/csi-attacher:v4.11.0', 'invalid.registry.k8s.io/invalid/alpine:3.1',
  ];
  const { buildable, missing } = planImages(refs);
  assert.deepEqual(buildable, refs.slice(0, 6));
  assert.deepEqual(missing, refs.slice(6));
});
