// The host Service in front of the tenant's apiservers: how workers, kubectl and the operator reach them.
import { Service } from 'kubernetes-models/v1';
import { objectMeta, selectorLabels } from './metadata.ts';
import { objectNames, type Tenant } from '../../core/index.ts';

export function renderApiServerService(tenant: Tenant): Service {
  const net = tenant.spec.networkProfile;
  return new Service({
    metadata: objectMeta(tenant, objectNames(tenant.name).apiServerService, 'control-plane'),
    spec: {
      type: net.serviceType,
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
