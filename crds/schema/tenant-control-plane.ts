// The one schema of the TenantControlPlane custom resource. From it come the CRD YAML and the TypeScript
// types (crds/generate.ts) and the ajv validator with its CEL mirrors (crds/validate.ts).
// Every string, list and map is bounded: the API server estimates the worst-case cost of each CEL rule
// from these bounds and refuses a CRD whose rules could be too expensive.
import type { CelRule } from './cel.ts';
import type { SchemaNode } from './json-schema.ts';
import {
  addressOutsidePodCIDRRule,
  addressOutsideServiceCIDRRule,
  addressRule,
  apiPortNotKonnectivityPortRule,
  certSANRule,
  cidrFamiliesMatchRule,
  cidrMaskedRule,
  cidrSyntaxRule,
  clusterDomainRule,
  dnsServiceIPInServiceCIDRRule,
  dnsServiceIPNotNetworkAddressRule,
  dnsServiceIPSyntaxRule,
  flagNamesRule,
  immutableRule,
  limitNotBelowRequestRule,
  noProtectedFlagsRule,
  nodePortRequiresNodePortRule,
  podCIDRDisjointRule,
  podCIDRSizeRule,
  quantityRule,
  serviceCIDRSizeRule,
  storageClassImmutableRule,
  etcdReplicasImmutableRule,
  storageClassNameRule,
  storageSizeNotShrunkRule,
  storageSizePositiveRule,
  tenantNameRule,
  versionNotLoweredRule,
  versionOneMinorAtATimeRule,
  type ControlPlaneComponent,
} from './rules.ts';
import { SUPPORTED_VERSIONS } from './versions.ts';

// The resource's identity and phases belong to the contract shared with the operator and the API.
import { GROUP, VERSION, API_VERSION, KIND, LIST_KIND, PLURAL, SINGULAR, SHORT_NAMES, CATEGORIES, CRD_NAME, PHASES } from '../../core/contract.ts';
export { GROUP, VERSION, API_VERSION, KIND, LIST_KIND, PLURAL, SINGULAR, SHORT_NAMES, CATEGORIES, CRD_NAME, PHASES };
export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;

const rules = (...list: CelRule[]): { 'x-kubernetes-validations': CelRule[] } => ({ 'x-kubernetes-validations': list });

/** A resource quantity (`250m`, `1Gi`, `2`), written as a string or an integer like in a Pod. */
function quantity(description: string, defaultValue?: string, extra: CelRule[] = []): SchemaNode {
  return {
    description,
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    maxLength: 64,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    ...rules(quantityRule, ...extra),
  };
}

function resourceList(title: string, description: string, defaults?: { cpu: string; memory: string }): SchemaNode {
  return {
    type: 'object',
    title,
    description,
    ...(defaults ? { default: {} } : {}),
    properties: {
      cpu: quantity('CPU, e.g. 250m (a quarter of a core) or 1.', defaults?.cpu),
      memory: quantity('Memory, e.g. 256Mi or 1Gi.', defaults?.memory),
    },
  };
}

/** Requests (defaulted, so control-plane pods are never BestEffort) and optional limits of one container. */
function containerResources(what: string, requests: { cpu: string; memory: string }): SchemaNode {
  return {
    type: 'object',
    title: 'ContainerResources',
    description: `Compute resources of ${what}. Requests are defaulted; limits are optional and may not be lower than requests.`,
    default: {},
    properties: {
      requests: resourceList('ResourceRequests', 'Resources reserved for the container. Unset keys get their default.', requests),
      limits: resourceList('ResourceLimits', 'Upper bounds for the container. Unset means no limit.'),
    },
    ...rules(limitNotBelowRequestRule('cpu'), limitNotBelowRequestRule('memory')),
  };
}

function extraArgs(component: ControlPlaneComponent, binary: string): SchemaNode {
  return {
    type: 'object',
    description:
      `Extra command-line flags for ${binary}: flag name without the leading -- mapped to its value. ` +
      'Flags the operator sets for security (authorization, authentication, TLS, certificates, etcd, service accounts) cannot be overridden.',
    default: {},
    maxProperties: 32,
    additionalProperties: { type: 'string', maxLength: 1024 },
    ...rules(flagNamesRule, noProtectedFlagsRule(component)),
  };
}

const controlPlane: SchemaNode = {
  type: 'object',
  title: 'ControlPlaneSpec',
  description: 'The control-plane pods (kube-apiserver, kube-controller-manager and kube-scheduler in one Deployment).',
  default: {},
  properties: {
    replicas: {
      type: 'integer',
      format: 'int32',
      description: 'Number of control-plane pods (1 to 5). Also set by `kubectl scale tcp`.',
      default: 1,
      minimum: 1,
      maximum: 5,
    },
    resources: {
      type: 'object',
      title: 'ControlPlaneResources',
      description: 'Compute resources per control-plane container.',
      default: {},
      properties: {
        apiServer: containerResources('kube-apiserver', { cpu: '250m', memory: '256Mi' }),
        controllerManager: containerResources('kube-controller-manager', { cpu: '100m', memory: '128Mi' }),
        scheduler: containerResources('kube-scheduler', { cpu: '50m', memory: '64Mi' }),
      },
    },
    extraArgs: {
      type: 'object',
      title: 'ControlPlaneExtraArgs',
      description: 'Extra flags per control-plane component.',
      default: {},
      properties: {
        apiServer: extraArgs('apiServer', 'kube-apiserver'),
        controllerManager: extraArgs('controllerManager', 'kube-controller-manager'),
        scheduler: extraArgs('scheduler', 'kube-scheduler'),
      },
    },
  },
};

const etcd: SchemaNode = {
  type: 'object',
  title: 'EtcdSpec',
  description: 'The etcd cluster that stores the tenant control plane data (one StatefulSet).',
  default: {},
  properties: {
    replicas: {
      type: 'integer',
      format: 'int32',
      description: 'Number of etcd members: 1, or 3 for a cluster that survives the loss of one member.',
      default: 1,
      enum: [1, 3],
      ...rules(etcdReplicasImmutableRule),
    },
    storage: {
      type: 'object',
      title: 'EtcdStorage',
      description: 'The persistent volume of each etcd member.',
      default: {},
      properties: {
        size: quantity('Volume size per member, e.g. 1Gi. May grow, never shrink.', '1Gi', [
          storageSizePositiveRule,
          storageSizeNotShrunkRule,
        ]),
        storageClassName: {
          type: 'string',
          description: 'StorageClass of the volumes; unset uses the host cluster default. Immutable.',
          maxLength: 253,
          ...rules(storageClassNameRule),
        },
      },
      ...rules(storageClassImmutableRule),
    },
    resources: containerResources('each etcd member', { cpu: '100m', memory: '256Mi' }),
  },
};

const networkProfile: SchemaNode = {
  type: 'object',
  title: 'NetworkProfile',
  description: 'How clients reach the tenant API server, and the address ranges inside the tenant cluster.',
  default: {},
  properties: {
    serviceType: {
      type: 'string',
      description: 'Type of the host Service in front of the tenant API server.',
      default: 'ClusterIP',
      enum: [...SERVICE_TYPES],
      maxLength: 16,
    },
    port: {
      type: 'integer',
      format: 'int32',
      description: 'Port of the host Service in front of the tenant API server.',
      default: 6443,
      minimum: 1,
      maximum: 65535,
    },
    nodePort: {
      type: 'integer',
      format: 'int32',
      description: 'Fixed node port (30000-32767) when serviceType is NodePort; unset lets the host cluster choose.',
      minimum: 30000,
      maximum: 32767,
    },
    address: {
      type: 'string',
      description: 'Extra IP address or DNS name clients use to reach the API server; added to its certificate and used in kubeconfigs.',
      maxLength: 253,
      ...rules(addressRule),
    },
    certSANs: {
      type: 'array',
      description: 'Extra subject alternative names (DNS names or IP addresses) for the API server certificate.',
      maxItems: 32,
      'x-kubernetes-list-type': 'set',
      items: { type: 'string', maxLength: 253, ...rules(certSANRule) },
    },
    serviceCIDR: {
      type: 'string',
      description: 'Address range of Services inside the tenant cluster. Immutable.',
      default: '10.96.0.0/12',
      maxLength: 43,
      ...rules(
        cidrSyntaxRule('serviceCIDR', '10.96.0.0/12'),
        cidrMaskedRule('serviceCIDR', '10.96.0.0/12'),
        serviceCIDRSizeRule,
        immutableRule('serviceCIDR', 'Services of the tenant cluster already have addresses from it'),
      ),
    },
    podCIDR: {
      type: 'string',
      description: 'Address range of Pods inside the tenant cluster; each node gets a slice of it. Immutable.',
      default: '10.244.0.0/16',
      maxLength: 43,
      ...rules(
        cidrSyntaxRule('podCIDR', '10.244.0.0/16'),
        cidrMaskedRule('podCIDR', '10.244.0.0/16'),
        podCIDRSizeRule,
        immutableRule('podCIDR', 'nodes of the tenant cluster already have pod ranges from it'),
      ),
    },
    dnsServiceIP: {
      type: 'string',
      description: 'ClusterIP of the tenant DNS Service; must lie inside serviceCIDR.',
      default: '10.96.0.10',
      maxLength: 39,
      ...rules(dnsServiceIPSyntaxRule),
    },
    clusterDomain: {
      type: 'string',
      description: 'DNS domain of the tenant cluster. Immutable.',
      default: 'cluster.local',
      maxLength: 253,
      ...rules(clusterDomainRule, immutableRule('clusterDomain', 'kubelets and certificates of the tenant cluster use it')),
    },
  },
  ...rules(
    nodePortRequiresNodePortRule,
    dnsServiceIPInServiceCIDRRule,
    dnsServiceIPNotNetworkAddressRule,
    cidrFamiliesMatchRule,
    podCIDRDisjointRule,
    addressOutsideServiceCIDRRule,
    addressOutsidePodCIDRRule,
  ),
};

function addon(name: string, description = `Whether the operator installs ${name} inside the tenant cluster.`): SchemaNode {
  return {
    type: 'object',
    title: 'AddonSpec',
    description,
    default: {},
    properties: { enabled: { type: 'boolean', description: 'Install the add-on (default true).', default: true } },
  };
}

export const tenantControlPlaneSpecSchema: SchemaNode = {
  type: 'object',
  title: 'TenantControlPlaneSpec',
  description: 'The desired tenant control plane.',
  required: ['version'],
  ...rules(apiPortNotKonnectivityPortRule),
  properties: {
    version: {
      type: 'string',
      description: 'Kubernetes version of the control plane. May be raised by one minor version at a time, never lowered.',
      enum: [...SUPPORTED_VERSIONS],
      maxLength: 32,
      ...rules(versionNotLoweredRule, versionOneMinorAtATimeRule),
    },
    controlPlane,
    etcd,
    networkProfile,
    addons: {
      type: 'object',
      title: 'AddonsSpec',
      description: 'Add-ons the operator installs inside the tenant cluster.',
      default: {},
      properties: {
        coreDNS: addon('CoreDNS'),
        kubeProxy: addon('kube-proxy'),
        konnectivity: addon(
          'konnectivity',
          'Whether the control plane reaches the tenant\'s nodes through konnectivity: a konnectivity server beside each API server ' +
            '(port 8132 of the API Service) and an agent on every node that dials out to it, so that logs, exec, port-forward, ' +
            'webhooks and aggregated APIs work for nodes the control plane cannot connect to (behind NAT). Off: the API server connects to nodes directly.',
        ),
        cni: addon(
          'the CNI add-on',
          'Whether the operator installs the pod network inside the tenant cluster: flannel (VXLAN) on every node, with the tenant\'s ' +
            'networkProfile.podCIDR as its network, so pods on different nodes reach each other and Services out of the box. ' +
            'Off: bring your own CNI plugin (nodes stay NotReady until one is installed).',
        ),
      },
    },
  },
};

// metav1.Condition, as the upstream API types declare it.
const condition: SchemaNode = {
  type: 'object',
  title: 'Condition',
  description: 'One aspect of the current state (metav1.Condition).',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      type: 'string',
      description: 'Type of condition in CamelCase, e.g. Ready, PKI, Datastore, APIServer, Kubeconfigs.',
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', description: 'True, False or Unknown.', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'The .metadata.generation the condition was set for.',
      minimum: 0,
    },
    lastTransitionTime: {
      type: 'string',
      format: 'date-time',
      description: 'When the condition last changed from one status to another.',
    },
    reason: {
      type: 'string',
      description: 'Programmatic identifier (CamelCase) of the reason for the last transition.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    message: { type: 'string', description: 'Human readable details about the transition.', maxLength: 32768 },
  },
};

export const tenantControlPlaneStatusSchema: SchemaNode = {
  type: 'object',
  title: 'TenantControlPlaneStatus',
  description: 'The observed state, written by the operator.',
  properties: {
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'The .metadata.generation the operator last reconciled.',
      minimum: 0,
    },
    phase: { type: 'string', description: 'Summary of the lifecycle.', enum: [...PHASES] },
    version: { type: 'string', description: 'Kubernetes version the running control plane has.', maxLength: 64 },
    endpoint: { type: 'string', description: 'URL of the tenant API server, e.g. https://10.0.0.5:31443.', maxLength: 512 },
    controlPlane: {
      type: 'object',
      title: 'ControlPlaneStatus',
      description: 'Control-plane pods, read by the scale subresource.',
      properties: {
        replicas: { type: 'integer', format: 'int32', description: 'Control-plane pods that exist.', minimum: 0 },
        readyReplicas: { type: 'integer', format: 'int32', description: 'Control-plane pods that are ready.', minimum: 0 },
        selector: { type: 'string', description: 'Label selector of the control-plane pods.', maxLength: 1024 },
      },
    },
    kubeconfigSecrets: {
      type: 'object',
      title: 'KubeconfigSecrets',
      description: 'Names of the Secrets (in the same namespace) holding kubeconfigs for the tenant cluster.',
      properties: {
        admin: { type: 'string', description: 'Secret with key admin.conf.', maxLength: 253 },
        clusterAPI: { type: 'string', description: 'Cluster API style Secret with key value.', maxLength: 253 },
      },
    },
    conditions: {
      type: 'array',
      description: 'Ready, plus one condition per part (PKI, Datastore, APIServer, Kubeconfigs, ...).',
      maxItems: 32,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: condition,
    },
  },
};

/** The schema of the whole object (the CRD's openAPIV3Schema). */
export const tenantControlPlaneSchema: SchemaNode = {
  type: 'object',
  title: 'TenantControlPlane',
  description: 'A Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) run as pods for a tenant.',
  required: ['spec'],
  properties: {
    apiVersion: { type: 'string', description: `APIVersion of this object: ${API_VERSION}.` },
    kind: { type: 'string', description: `Kind of this object: ${KIND}.` },
    metadata: { type: 'object', title: 'ObjectMeta' }, // the API server forbids anything else on metadata
    spec: tenantControlPlaneSpecSchema,
    status: tenantControlPlaneStatusSchema,
  },
  ...rules(tenantNameRule),
};
