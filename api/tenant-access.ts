// What the API does inside a tenant cluster: per-user kubeconfigs, join tokens, node lists. Routes use
// this interface; host/tenant-access.ts implements it with the API's own narrow identity in the tenant
// (the `<id>-portal-kubeconfig` Secret the operator writes into the host), never with a CA key.
import type { NodeLister } from './metering.ts';
import type { TenantControlPlane } from './tcp.ts';

/** An identity already checked by identity.ts: the implementation signs exactly this. */
export interface KubeconfigRequest {
  /** The portal account asking (recorded on the CSR approval). */
  account: string;
  username: string;
  groups: string[];
  ttlSeconds: number;
}

export interface IssuedKubeconfig {
  /** kubeconfig YAML with an embedded client certificate and key (the key made here, never sent anywhere). */
  kubeconfig: string;
  expiresAt: Date;
}

export interface JoinTokenSummary {
  id: string;
  expiresAt: Date | null;
  description: string | null;
  usages: string[];
  groups: string[];
  createdAt: Date | null;
}

export interface MintedJoinTokenView extends JoinTokenSummary {
  /** `<id>.<secret>`: shown once, never stored by the API. */
  token: string;
  joinCommand: string;
}

export interface TenantAccess extends NodeLister {
  issueKubeconfig(tcp: TenantControlPlane, request: KubeconfigRequest): Promise<IssuedKubeconfig>;
  mintJoinToken(tcp: TenantControlPlane, options: { ttlSeconds: number; description?: string }): Promise<MintedJoinTokenView>;
  listJoinTokens(tcp: TenantControlPlane): Promise<JoinTokenSummary[]>;
  /** False when no token has that id. */
  revokeJoinToken(tcp: TenantControlPlane, id: string): Promise<boolean>;
}
