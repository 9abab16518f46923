// One tenant shape. A TenantControlPlane as the API server returns it (defaulted by the CRD schema) is
// resolved ONCE per reconcile into a Tenant: its identity, its spec with the facts the operator observed
// filled in (the node address of a NodePort tenant), and its parsed version. PKI, rendering, the
// bootstrap inside the tenant and the status all take this value.
//
// The CRD schema and its CEL rules are the authority on validity (crds/schema); the checks here only guard
// what the operator relies on, so an object that skipped defaulting (an older CRD, a hand-made test object)
// fails with a message naming the field instead of as an API error about some generated object.
// crds/samples are resolved in core/tenant.test.ts after the schema's own defaulting, which keeps the two
// in step.
import { MAX_TENANT_NAME_LENGTH, TENANT_NAME_PATTERN } from '../crds/schema/rules.ts';
import type { TenantControlPlane, TenantControlPlaneSpec, TenantControlPlaneStatus } from '../crds/generated/types.ts';
import { SERVICE_TYPES } from '../crds/schema/tenant-control-plane.ts';

export type { TenantControlPlane, TenantControlPlaneSpec, TenantControlPlaneStatus };
export type { Condition, ContainerResources, TenantControlPlaneSpecInput } from '../crds/generated/types.ts';

export interface KubernetesVersion {
  major: number;
  minor: number;
  patch: number;
  /** As written in the spec, e.g. `v1.36.5`. */
  tag: string;
}

/** A TenantControlPlane resolved for one reconcile. */
export interface Tenant {
  name: string;
  namespace: string;
  uid: string;
  /** metadata.generation: what status.observedGeneration and the conditions report. */
  generation: number;
  /** The defaulted spec, networkProfile.address filled in where the operator decides it. */
  spec: TenantControlPlaneSpec;
  version: KubernetesVersion;
}

/** What the operator knows besides the object. */
export interface TenantFacts {
  /** Where a NodePort tenant is reached when its spec names no address: a host node's address. */
  nodeAddress?: string;
}

export class TenantSpecError extends Error {
  override name = 'TenantSpecError';
}

export function parseKubernetesVersion(tag: string): KubernetesVersion {
  const m = /^v(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$/.exec(tag);
  if (!m) throw new TenantSpecError(`spec.version ${JSON.stringify(tag)} is not a Kubernetes version like v1.36.5`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), tag };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// The CRD's rule: `<name>-apiserver` must be a DNS-1035 label (Services), `<name>-etcd-<hash>` fit 63.
const TENANT_NAME = new RegExp(TENANT_NAME_PATTERN);

function fail(path: string, message: string): never {
  throw new TenantSpecError(`TenantControlPlane ${path}: ${message}`);
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

export function resolveTenant(tcp: TenantControlPlane, facts: TenantFacts = {}): Tenant {
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
  if (!(SERVICE_TYPES as readonly string[]).includes(net.serviceType)) {
    fail('spec.networkProfile.serviceType', `${JSON.stringify(net.serviceType)} must be one of ${SERVICE_TYPES.join(', ')}`);
  }
  if (!isInteger(net.port, 1, 65535)) fail('spec.networkProfile.port', 'must be an integer 1..65535');
  if (net.nodePort !== undefined) {
    if (!isInteger(net.nodePort, 30000, 32767)) fail('spec.networkProfile.nodePort', 'must be an integer 30000..32767');
    if (net.serviceType !== 'NodePort') fail('spec.networkProfile.nodePort', 'is only allowed with serviceType NodePort');
  }
  for (const field of ['serviceCIDR', 'podCIDR', 'clusterDomain', 'dnsServiceIP'] as const) {
    if (typeof net[field] !== 'string' || net[field] === '') fail(`spec.networkProfile.${field}`, 'missing (is the spec defaulted?)');
  }

  // A NodePort tenant without an address is reached at a host node's address: decided here, once, so
  // that the certificate, the kubeconfigs, the endpoint and the bootstrap all name the same one.
  const address = net.address ?? (net.serviceType === 'NodePort' ? facts.nodeAddress : undefined);
  const resolvedSpec: TenantControlPlaneSpec = address === net.address ? spec : { ...spec, networkProfile: { ...net, address } };
  return { name, namespace, uid, generation: meta.generation ?? 0, spec: resolvedSpec, version };
}
