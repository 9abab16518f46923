// The host Service in front of the tenant's apiservers: how workers, kubectl and the operator reach them.
import { isIP } from 'node:net';
import { Service } from 'kubernetes-models/v1';
import { objectMeta, selectorLabels } from './metadata.ts';
import { objectNames, type Tenant } from '../../core/index.ts';

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
      ],
    },
  });
}
