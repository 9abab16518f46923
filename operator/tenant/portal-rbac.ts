// The REST API's rights inside a tenant (core/contract.ts PORTAL_IDENTITY; its kubeconfig is the host
// Secret `<name>-portal-kubeconfig`, the only Secret of a tenant the API reads). Exactly what the API does:
// - per-user kubeconfigs: create a CertificateSigningRequest for the built-in client signer, approve it
//   (approval subresource + `approve` on that one signer), read back the signed certificate, delete it;
// - join tokens: bootstrap-token Secrets in kube-system (create, list by type, delete by name; RBAC cannot
//   narrow a create or a list to one Secret type);
// - node hours: list nodes.
// The identity can approve client certificates for any name the tenant's CertificateSubjectRestriction
// admission lets through (everything but system:masters), so what it asks for is checked by the API
// (api/identity.ts) before the CSR exists. It never holds a CA key.
import { PORTAL_IDENTITY } from '../../core/index.ts';
import { applicable, clusterRole, clusterRoleBinding, roleBinding, user, metadata, type TenantObject } from './objects.ts';
import { NAMESPACE_SYSTEM, PORTAL_RBAC } from './names.ts';

const CERTIFICATES = 'certificates.k8s.io';

/** Objects of the API's access, in apply order (roles before their bindings); part `rbac`. */
export function renderPortalRbac(): TenantObject[] {
  const portal = user(PORTAL_IDENTITY.user);
  const objects = [
    clusterRole(PORTAL_RBAC, [
      { apiGroups: [CERTIFICATES], resources: ['certificatesigningrequests'], verbs: ['create', 'get', 'delete'] },
      { apiGroups: [CERTIFICATES], resources: ['certificatesigningrequests/approval'], verbs: ['update'] },
      { apiGroups: [CERTIFICATES], resources: ['signers'], resourceNames: [PORTAL_IDENTITY.clientSigner], verbs: ['approve'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
    ]),
    clusterRoleBinding(PORTAL_RBAC, PORTAL_RBAC, [portal]),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: metadata(PORTAL_RBAC, { namespace: NAMESPACE_SYSTEM }),
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'list', 'delete'] }],
    },
    roleBinding(PORTAL_RBAC, NAMESPACE_SYSTEM, PORTAL_RBAC, [portal]),
  ];
  return objects.map((object) => ({ part: 'rbac', policy: 'apply', object: applicable(object) }));
}
