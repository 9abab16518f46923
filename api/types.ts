// Small shared types of the API: who is calling, and what time it is (injected so tests control it).

/**
 * What a key may do: `read` (GETs), `write` (create, update, delete clusters), `kubeconfig` (issue
 * client certificates), `join-tokens` (mint and revoke kubeadm bootstrap tokens: credentials that let
 * a machine join a cluster, so a key that manages clusters does not get them without asking).
 */
export const SCOPES = ['read', 'write', 'kubeconfig', 'join-tokens'] as const;
export type Scope = (typeof SCOPES)[number];

export const SIZES = ['small', 'medium', 'large'] as const;
export type Size = (typeof SIZES)[number];

/** The caller, resolved from its API key. */
export interface Principal {
  account: string;
  scopes: readonly Scope[];
  /** Groups this account may put into kubeconfig client certificates. */
  groups: readonly string[];
  /** sha256 of the API key (never the key itself); safe to log. */
  keyId: string;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Portal accounts become label values and ConfigMap names: a DNS label. */
export const ACCOUNT_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
