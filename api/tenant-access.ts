// What the API does inside a tenant cluster (or with its PKI): per-user kubeconfigs, join tokens,
// node counts. Routes use this interface; host/tenant-access.ts implements it with the tenant's CA
// and admin kubeconfig Secrets that the operator writes into the host.
import type { NodeCounter } from './metering.ts';
import type { TenantControlPlane } from './tcp.ts';

export interface KubeconfigRequest {
  username: string;
  groups: string[];
  ttlSeconds: number;
}

export interface IssuedKubeconfig {
  /** kubeconfig YAML with an embedded client certificate and key. */
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

export interface TenantAccess extends NodeCounter {
  issueKubeconfig(tcp: TenantControlPlane, request: KubeconfigRequest): Promise<IssuedKubeconfig>;
  mintJoinToken(tcp: TenantControlPlane, options: { ttlSeconds: number; description?: string }): Promise<MintedJoinTokenView>;
  listJoinTokens(tcp: TenantControlPlane): Promise<JoinTokenSummary[]>;
  /** False when no token has that id. */
  revokeJoinToken(tcp: TenantControlPlane, id: string): Promise<boolean>;
}
