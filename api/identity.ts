// Who a kubeconfig the API issues may say its holder is. Every account has a space of its own, the
// names starting with `portal:<account>:`: its users are always there, its groups are there or on the
// API key's allow-list (`groups` of the key record). Names Kubernetes, kubeadm or the operator use
// (core/pki reservedIdentityReason: system:*, kubeadm:*, kubeception:*, kube-apiserver-kubelet-client,
// kubernetes-admin, ...) are never minted; the one exception is the operator's admin group
// kubeception:tenant-admins (cluster-admin in every tenant), when the key's allow-list names it: the
// documented way to hand a portal user an admin kubeconfig. Pure: the route turns refusals into problems.
import { reservedIdentityReason, TENANT_ADMIN_GROUP } from '../core/index.ts';

/** The part after the account's prefix: what a person would call the user or group. */
const LOCAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const LOCAL_NAME_RULE = '1-128 of letters, digits, ".", "_", "@", "-", starting with a letter or digit';
/** Characters an allow-listed group may have (Kubernetes takes more; these survive certificates and logs). */
const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._@-]{0,127}$/;

/** `portal:<account>:`, the start of every user and own group of the account. */
export function accountSpace(account: string): string {
  return `portal:${account}:`;
}

export interface IdentityRequest {
  account: string;
  /** The API key's allow-list of groups outside the account's space. */
  grantableGroups: readonly string[];
  username: string;
  groups: readonly string[];
}

export interface IdentityRefusal {
  /** Where in the request body, e.g. `body.username`, `body.groups[1]`. */
  field: string;
  /**
   * `invalid`: no key of this account could ever have this name minted (422);
   * `not-granted`: a valid name this key's allow-list does not hold (403: another key may).
   */
  kind: 'invalid' | 'not-granted';
  reason: string;
}

/** Why a group may not be on an API key's allow-list, or undefined when it may. */
export function allowListGroupProblem(group: string): string | undefined {
  if (!GROUP_PATTERN.test(group)) return `group ${JSON.stringify(group)} is not a valid group name`;
  if (group === TENANT_ADMIN_GROUP) return undefined;
  const reserved = reservedIdentityReason(group);
  return reserved === undefined ? undefined : `group ${JSON.stringify(group)} can never be granted: ${reserved}`;
}

function usernameRefusal(account: string, username: string): string | undefined {
  const space = accountSpace(account);
  const reserved = reservedIdentityReason(username);
  if (reserved !== undefined) return `${JSON.stringify(username)} can never be issued: ${reserved}; users of this account are ${space}<name>`;
  if (!username.startsWith(space)) {
    const local = username.startsWith('portal:') ? username.split(':').slice(2).join(':') : username;
    const hint = LOCAL_NAME.test(local) ? `, e.g. ${JSON.stringify(space + local)}` : '';
    return `${JSON.stringify(username)} is outside this account's user space: users are ${space}<name>${hint}`;
  }
  if (!LOCAL_NAME.test(username.slice(space.length))) return `the name after ${JSON.stringify(space)} must be ${LOCAL_NAME_RULE}`;
  return undefined;
}

function groupRefusal(request: IdentityRequest, group: string): Omit<IdentityRefusal, 'field'> | undefined {
  const space = accountSpace(request.account);
  if (group.startsWith(space)) {
    return LOCAL_NAME.test(group.slice(space.length)) ? undefined : { kind: 'invalid', reason: `the name after ${JSON.stringify(space)} must be ${LOCAL_NAME_RULE}` };
  }
  const problem = allowListGroupProblem(group);
  if (problem !== undefined) return { kind: 'invalid', reason: problem };
  if (!request.grantableGroups.includes(group)) {
    const listed = request.grantableGroups.length === 0 ? '(none)' : request.grantableGroups.join(', ');
    return { kind: 'not-granted', reason: `group ${JSON.stringify(group)} is neither in this account's space (${space}<name>) nor on this API key's allow-list: ${listed}` };
  }
  return undefined;
}

/** Every reason the request may not be issued; empty when it may. */
export function identityRefusals(request: IdentityRequest): IdentityRefusal[] {
  const refusals: IdentityRefusal[] = [];
  const user = usernameRefusal(request.account, request.username);
  if (user !== undefined) refusals.push({ field: 'body.username', kind: 'invalid', reason: user });
  request.groups.forEach((group, index) => {
    const refusal = groupRefusal(request, group);
    if (refusal !== undefined) refusals.push({ field: `body.groups[${index}]`, ...refusal });
  });
  return refusals;
}
