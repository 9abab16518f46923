// The hardening every control-plane and etcd pod gets (design §4): non-root, read-only root file system,
// seccomp RuntimeDefault, no capabilities, no privilege escalation, no service account token.
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';

/** The `nonroot` user of distroless images; scratch images have no /etc/passwd, so a number is used. */
export const NON_ROOT_UID = 65532;

/** Secret and ConfigMap files: readable by the owner and the pod's fsGroup only (0440). */
export const SECRET_FILE_MODE = 0o440;

export function podSecurityContext(): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NON_ROOT_UID,
    runAsGroup: NON_ROOT_UID,
    // fsGroup makes the mounted Secret files (0440) and the etcd data volume group-owned by the pod's user.
    fsGroup: NON_ROOT_UID,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function containerSecurityContext(): ISecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
