// The REST API's read of a tenant's credentials, granted per tenant instead of cluster-wide: for a tcp the
// API created, a Role allowing `get` on exactly the Secrets the API reads (API_READ_SECRETS: only the
// portal kubeconfig, a narrow identity inside the tenant; never a CA key or an admin kubeconfig) and a
// RoleBinding of it to the API's service account, both in the tcp's namespace and owned by the tcp, so
// they go with it. The internet-facing API then never holds a Secret read beyond its own clusters.
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { objectMeta } from './metadata.ts';
import { API_READ_SECRETS, CREATED_BY_API, LABELS, objectNames, secretNames, type Tenant } from '../../core/index.ts';

/** The API's service account (operator --api-service-account NAMESPACE/NAME). */
export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** Only tcps the REST API made get the grant: a tcp applied with kubectl is none of the API's business. */
export function isCreatedByApi(labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels?.[LABELS.createdBy] === CREATED_BY_API;
}

/** The names of the Secrets granted, in API_READ_SECRETS order. */
export function apiReadableSecretNames(tenant: string): string[] {
  const names = secretNames(tenant);
  return API_READ_SECRETS.map((which) => names[which]);
}

export function renderApiSecretReader(tenant: Tenant, serviceAccount: ServiceAccountRef): [Role, RoleBinding] {
  const name = objectNames(tenant.name).apiSecretReader;
  const role = new Role({
    metadata: objectMeta(tenant, name, 'api-access'),
    rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: apiReadableSecretNames(tenant.name), verbs: ['get'] }],
  });
  const binding = new RoleBinding({
    metadata: objectMeta(tenant, name, 'api-access'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', namespace: serviceAccount.namespace, name: serviceAccount.name }],
  });
  return [role, binding];
}
