// Identities that nobody but Kubernetes, kubeadm and the operator may be issued a certificate for: each
// carries powers in every tenant (bindings kubeadm and the operator make, or built-in ones), so a client
// certificate minted for one of them by anybody else would be an escalation. The REST API checks every
// user and group it puts into a certificate against this (api/identity.ts).
import { KUBEADM_CLUSTER_ADMIN_GROUP, MASTERS_GROUP, OPERATOR_USERS, TENANT_ADMIN_GROUP } from './kubeadm-set.ts';

/** Prefixes whose names belong to someone, with the owner named in refusals. */
export const RESERVED_PREFIXES: readonly { prefix: string; owner: string }[] = [
  { prefix: 'system:', owner: 'Kubernetes' },
  { prefix: 'kubeadm:', owner: 'kubeadm' },
  { prefix: 'kubeception:', owner: 'the kubeception operator' },
];

/** Every exact user or group name the operator issues certificates for (some outside the prefixes). */
export const OPERATOR_IDENTITIES: readonly string[] = [...Object.values(OPERATOR_USERS), TENANT_ADMIN_GROUP, KUBEADM_CLUSTER_ADMIN_GROUP, MASTERS_GROUP];

/**
 * Why `name` (a user or a group) is reserved, or undefined when it is not. Compared case-insensitively:
 * `System:Masters` is another name to Kubernetes, but nobody should be handed something that reads as it.
 */
export function reservedIdentityReason(name: string): string | undefined {
  const lower = name.toLowerCase();
  const exact = OPERATOR_IDENTITIES.find((identity) => identity.toLowerCase() === lower);
  if (exact !== undefined) return `${JSON.stringify(name)} is reserved: an identity the operator issues certificates for (bound to powers in every tenant)`;
  const owned = RESERVED_PREFIXES.find(({ prefix }) => lower.startsWith(prefix));
  if (owned !== undefined) return `names starting with ${JSON.stringify(owned.prefix)} are reserved by ${owned.owner}`;
  return undefined;
}
