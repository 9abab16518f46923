// Portal sizes -> the control-plane part of a TenantControlPlane spec. Only the control plane
// (replicas and resource requests) follows the size: etcd keeps what it was created with, because
// changing etcd membership or storage of a running tenant is not a resize.
import type { Size } from './types.ts';

export interface ResourceRequests {
  requests: { cpu: string; memory: string };
}

export interface ControlPlaneSizing {
  replicas: number;
  resources: {
    apiServer: ResourceRequests;
    controllerManager: ResourceRequests;
    scheduler: ResourceRequests;
  };
}

const req = (cpu: string, memory: string): ResourceRequests => ({ requests: { cpu, memory } });

export const SIZE_PROFILES: Readonly<Record<Size, ControlPlaneSizing>> = {
  // The contract's defaults: one replica, what a development cluster needs.
  small: {
    replicas: 1,
    resources: { apiServer: req('250m', '256Mi'), controllerManager: req('100m', '128Mi'), scheduler: req('50m', '64Mi') },
  },
  // Two replicas survive a host node drain; twice the API server headroom.
  medium: {
    replicas: 2,
    resources: { apiServer: req('500m', '512Mi'), controllerManager: req('200m', '256Mi'), scheduler: req('100m', '128Mi') },
  },
  // Three replicas (a majority survives one loss) and room for large clusters.
  large: {
    replicas: 3,
    resources: { apiServer: req('1', '2Gi'), controllerManager: req('500m', '512Mi'), scheduler: req('250m', '256Mi') },
  },
};

export function controlPlaneFor(size: Size): ControlPlaneSizing {
  // A copy: callers put it into objects that get serialised and patched.
  return structuredClone(SIZE_PROFILES[size]);
}
