// Checks the few facts rendering relies on, so a bad object fails here with a clear message and not later
// as an API error about some generated field. The CRD schema is the real gate; this is the renderer's own.
import { MAX_TENANT_NAME_LENGTH, TENANT_NAME_PATTERN } from '../../crds/schema/rules.ts';
import type { TenantControlPlane, TenantControlPlaneSpec } from './spec.ts';

export interface KubernetesVersion {
  major: number;
  minor: number;
  patch: number;
  /** As written in the spec, e.g. `v1.36.5`. */
  tag: string;
}

/** What every renderer receives: the checked identity of the tenant and its spec. */
export interface Tenant {
  name: string;
  namespace: string;
  uid: string;
  spec: TenantControlPlaneSpec;
  version: KubernetesVersion;
}

export class RenderInputError extends Error {
  override name = 'RenderInputError';
}

export function parseKubernetesVersion(tag: string): KubernetesVersion {
  const m = /^v(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$/.exec(tag);
  if (!m) throw new RenderInputError(`spec.version ${JSON.stringify(tag)} is not a Kubernetes version like v1.36.5`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), tag };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// The CRD's rule: `<name>-apiserver` must be a DNS-1035 label (Services), `<name>-etcd-<hash>` fit 63.
const TENANT_NAME = new RegExp(TENANT_NAME_PATTERN);

function fail(path: string, message: string): never {
  throw new RenderInputError(`TenantControlPlane ${path}: ${message}`);
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

export function checkTenant(tcp: TenantControlPlane): Tenant {
  if (tcp === null || typeof tcp !== 'object') fail('', 'expected an object');
  const meta = tcp.metadata;
  if (meta === null || typeof meta !== 'object') fail('metadata', 'missing');
  const { name, namespace, uid } = meta;
  if (typeof name !== 'string' || !TENANT_NAME.test(name)) {
    fail('metadata.name', `${JSON.stringify(name)} must start with a letter and hold only lowercase letters, digits and '-'`);
  }
  if (name.length > MAX_TENANT_NAME_LENGTH) fail('metadata.name', `"${name}" is too long (max ${MAX_TENANT_NAME_LENGTH})`);
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace)) fail('metadata.namespace', `${JSON.stringify(namespace)} is not a namespace name`);
  if (typeof uid !== 'string' || uid === '') fail('metadata.uid', 'missing: owner references need the uid of a stored object');

  const spec = tcp.spec;
  if (spec === null || typeof spec !== 'object') fail('spec', 'missing');
  const version = parseKubernetesVersion(spec.version);
  const cp = spec.controlPlane;
  if (!cp || !isInteger(cp.replicas, 1, 5)) fail('spec.controlPlane.replicas', 'must be an integer 1..5 (is the spec defaulted?)');
  if (!cp.resources?.apiServer || !cp.resources.controllerManager || !cp.resources.scheduler) {
    fail('spec.controlPlane.resources', 'apiServer, controllerManager and scheduler must be set (is the spec defaulted?)');
  }
  const etcd = spec.etcd;
  if (!etcd || (etcd.replicas !== 1 && etcd.replicas !== 3)) fail('spec.etcd.replicas', 'must be 1 or 3');
  if (!etcd.storage || (typeof etcd.storage.size !== 'string' && typeof etcd.storage.size !== 'number')) fail('spec.etcd.storage.size', 'missing');
  if (!etcd.resources) fail('spec.etcd.resources', 'missing (is the spec defaulted?)');
  const net = spec.networkProfile;
  if (!net) fail('spec.networkProfile', 'missing');
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(net.serviceType)) {
    fail('spec.networkProfile.serviceType', `${JSON.stringify(net.serviceType)} must be ClusterIP, NodePort or LoadBalancer`);
  }
  if (!isInteger(net.port, 1, 65535)) fail('spec.networkProfile.port', 'must be an integer 1..65535');
  if (net.nodePort !== undefined) {
    if (!isInteger(net.nodePort, 30000, 32767)) fail('spec.networkProfile.nodePort', 'must be an integer 30000..32767');
    if (net.serviceType !== 'NodePort') fail('spec.networkProfile.nodePort', 'is only allowed with serviceType NodePort');
  }
  for (const field of ['serviceCIDR', 'podCIDR', 'clusterDomain'] as const) {
    if (typeof net[field] !== 'string' || net[field] === '') fail(`spec.networkProfile.${field}`, 'missing (is the spec defaulted?)');
  }
  return { name, namespace, uid, spec, version };
}
