// A defaulted TenantControlPlane as the API server returns it, for unit tests of everything that takes one.
import { API_VERSION, KIND } from '../contract.ts';
import type { TenantControlPlane } from '../tenant.ts';

export function sampleTenant(patch: (tcp: TenantControlPlane) => void = () => {}): TenantControlPlane {
  const tcp: TenantControlPlane = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: 'demo', namespace: 'tenant-demo', uid: '0b6d1f3c-6a1e-4c55-9d1e-2f0c8a7e5b11', generation: 1 },
    spec: {
      version: 'v1.36.5',
      controlPlane: {
        replicas: 1,
        resources: {
          apiServer: { requests: { cpu: '250m', memory: '256Mi' } },
          controllerManager: { requests: { cpu: '100m', memory: '128Mi' } },
          scheduler: { requests: { cpu: '50m', memory: '64Mi' } },
        },
        extraArgs: { apiServer: {}, controllerManager: {}, scheduler: {} },
      },
      etcd: { replicas: 1, storage: { size: '1Gi' }, resources: { requests: { cpu: '100m', memory: '256Mi' } } },
      networkProfile: {
        serviceType: 'ClusterIP',
        port: 6443,
        certSANs: [],
        serviceCIDR: '10.96.0.0/12',
        podCIDR: '10.244.0.0/16',
        dnsServiceIP: '10.96.0.10',
        clusterDomain: 'cluster.local',
      },
      addons: { coreDNS: { enabled: true }, kubeProxy: { enabled: true }, konnectivity: { enabled: true }, cni: { enabled: true } },
    },
  };
  patch(tcp);
  return tcp;
}
