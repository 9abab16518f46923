// The host Service in front of the tenant's apiservers: how workers, kubectl and the operator reach them.
// ports[0] is always `https` (the operator and the REST API read its node port); with konnectivity on, a
// second port `konnectivity` leads the tenant's konnectivity agents to the servers beside the apiservers.
import { isIP } from 'node:net';
import { Service } from 'kubernetes-models/v1';
import { konnectivityEnabled } from './konnectivity.ts';
import { objectMeta, selectorLabels } from './metadata.ts';
import { KONNECTIVITY, objectNames, type Tenant } from '../../core/index.ts';

export function renderApiServerService(tenant: Tenant): Service {
  const net = tenant.spec.networkProfile;
  return new Service({
    metadata: objectMeta(tenant, objectNames(tenant.name).apiServerService, 'control-plane'),
    spec: {
      type: net.serviceType,
      // An IP in spec.networkProfile.address is asked of the load balancer (MetalLB, cloud providers);
      // a DNS name is the user's to point at whatever address the load balancer gives.
      ...(net.serviceType === 'LoadBalancer' && net.address !== undefined && isIP(net.address) !== 0 ? { loadBalancerIP: net.address } : {}),
      selector: selectorLabels(tenant.name, 'control-plane'),
      ports: [
        {
          name: 'https',
          protocol: 'TCP',
          port: net.port,
          targetPort: 'https',
          ...(net.serviceType === 'NodePort' && net.nodePort !== undefined ? { nodePort: net.nodePort } : {}),
        },
        // For NodePort the host assigns the node port (kept across applies: this manager never sets it).
        ...(konnectivityEnabled(tenant.spec)
          ? [{ name: KONNECTIVITY.servicePortName, protocol: 'TCP' as const, port: KONNECTIVITY.agentPort, targetPort: KONNECTIVITY.servicePortName }]
          : []),
      ],
    },
  });
}
