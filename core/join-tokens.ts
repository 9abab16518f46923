// kubeadm-style bootstrap tokens inside a tenant cluster: what `kubeadm token create` writes, so that
// `kubeadm join` on a worker can discover the cluster (cluster-info JWS signed by the bootstrapsigner
// with this token) and authenticate as system:bootstrappers:kubeadm:default-node-token.
// Pure functions build the Secret and the join command; the three I/O functions take a client for the
// tenant's API server made from its admin kubeconfig.
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { V1Secret, V1SecretList } from '@kubernetes/client-node';
import { isConflict, isNotFound, type KubeClient } from './kube/kube-client.ts';
import { LABELS, MANAGED_BY } from './contract.ts';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
/** The group kubeadm's RBAC (node-bootstrapper, CSR auto-approval) is bound to. */
export const DEFAULT_NODE_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
/** kubeadm's default token lifetime. */
export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_ID_PATTERN = /^[a-z0-9]{6}$/;
const TOKEN_SECRET_PATTERN = /^[a-z0-9]{16}$/;

export interface BootstrapToken {
  /** Public part, [a-z0-9]{6}; names the Secret. */
  id: string;
  /** Private part, [a-z0-9]{16}. */
  secret: string;
}

/** What can be shown about a token without revealing its secret. */
export interface JoinTokenInfo {
  id: string;
  /** Absent for tokens that never expire (we never mint those, kubeadm can). */
  expiresAt?: Date;
  description?: string;
  usages: string[];
  groups: string[];
  createdAt?: Date;
}

export interface MintedJoinToken {
  token: BootstrapToken;
  info: JoinTokenInfo;
}

export function isTokenId(value: string): boolean {
  return TOKEN_ID_PATTERN.test(value);
}

/** `<id>.<secret>`, the form kubeadm and kubelet's bootstrap kubeconfig use. */
export function formatToken(token: BootstrapToken): string {
  return `${token.id}.${token.secret}`;
}

export function parseToken(value: string): BootstrapToken {
  const [id, secret, ...rest] = value.split('.');
  if (id === undefined || secret === undefined || rest.length > 0 || !TOKEN_ID_PATTERN.test(id) || !TOKEN_SECRET_PATTERN.test(secret)) {
    throw new Error(`invalid bootstrap token: expected [a-z0-9]{6}.[a-z0-9]{16}`);
  }
  return { id, secret };
}

/**
 * Draws `length` characters uniformly from [a-z0-9] with rejection sampling (a plain `byte % 36`
 * would favour the first 4 characters: 256 is not a multiple of 36).
 */
export function randomTokenString(length: number, randomBytes: (size: number) => Uint8Array = cryptoRandomBytes): string {
  const limit = 256 - (256 % TOKEN_ALPHABET.length); // 252: largest multiple of 36 below 256
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= limit) continue;
      out += TOKEN_ALPHABET[byte % TOKEN_ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function generateBootstrapToken(randomBytes?: (size: number) => Uint8Array): BootstrapToken {
  return { id: randomTokenString(6, randomBytes), secret: randomTokenString(16, randomBytes) };
}

export interface BootstrapTokenOptions {
  expiresAt: Date;
  description?: string;
  /** Defaults to kubeadm's node-join group. */
  groups?: string[];
}

/** The Secret `kubeadm token create` writes (the format the bootstrap authenticator and signer read). */
export function bootstrapTokenSecret(token: BootstrapToken, options: BootstrapTokenOptions): V1Secret {
  if (!TOKEN_ID_PATTERN.test(token.id) || !TOKEN_SECRET_PATTERN.test(token.secret)) {
    throw new Error('invalid bootstrap token: expected id [a-z0-9]{6} and secret [a-z0-9]{16}');
  }
  if (Number.isNaN(options.expiresAt.getTime())) throw new Error('invalid bootstrap token expiration');
  const groups = options.groups ?? [DEFAULT_NODE_TOKEN_GROUP];
  for (const group of groups) {
    // The authenticator rejects tokens whose extra groups are outside system:bootstrappers:.
    if (!/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/.test(group)) {
      throw new Error(`invalid bootstrap token group ${JSON.stringify(group)}: must match system:bootstrappers:[a-z0-9:-]*`);
    }
  }
  const stringData: Record<string, string> = {
    'token-id': token.id,
    'token-secret': token.secret,
    // RFC 3339 without fractional seconds, like kubeadm.
    expiration: options.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
    'auth-extra-groups': groups.join(','),
  };
  if (options.description !== undefined && options.description !== '') stringData.description = options.description;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `${BOOTSTRAP_TOKEN_SECRET_PREFIX}${token.id}`,
      namespace: BOOTSTRAP_TOKEN_NAMESPACE,
      labels: { [LABELS.managedBy]: MANAGED_BY },
    },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    stringData,
  };
}

function secretValue(secret: V1Secret, key: string): string | undefined {
  const fromString = secret.stringData?.[key];
  if (fromString !== undefined) return fromString;
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/** Reads a bootstrap token Secret back, without its secret half; undefined when it is not one. */
export function tokenInfoFromSecret(secret: V1Secret): JoinTokenInfo | undefined {
  if (secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) return undefined;
  const name = secret.metadata?.name ?? '';
  const id = secretValue(secret, 'token-id') ?? name.slice(BOOTSTRAP_TOKEN_SECRET_PREFIX.length);
  if (!TOKEN_ID_PATTERN.test(id) || name !== `${BOOTSTRAP_TOKEN_SECRET_PREFIX}${id}`) return undefined;
  const expiration = secretValue(secret, 'expiration');
  const expiresAt = expiration === undefined ? undefined : new Date(expiration);
  const usages = Object.keys({ ...secret.data, ...secret.stringData })
    .filter((key) => key.startsWith('usage-bootstrap-') && secretValue(secret, key) === 'true')
    .map((key) => key.slice('usage-bootstrap-'.length))
    .sort();
  const groups = (secretValue(secret, 'auth-extra-groups') ?? '').split(',').filter((group) => group !== '');
  const info: JoinTokenInfo = { id, usages, groups };
  if (expiresAt !== undefined && !Number.isNaN(expiresAt.getTime())) info.expiresAt = expiresAt;
  const description = secretValue(secret, 'description');
  if (description !== undefined) info.description = description;
  const created = secret.metadata?.creationTimestamp;
  if (created !== undefined) info.createdAt = new Date(created);
  return info;
}

/** `https://10.0.0.5:31443` -> `10.0.0.5:31443`: kubeadm join takes host:port. */
export function joinEndpoint(endpoint: string): string {
  if (!/^[a-z]+:\/\//i.test(endpoint)) return endpoint;
  const url = new URL(endpoint);
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return `${url.hostname}:${port}`;
}

export interface JoinCommandInput {
  /** The tenant API server endpoint, URL or host:port. */
  endpoint: string;
  token: BootstrapToken;
  /** `sha256:<hex>` of the cluster CA's public key (kubeadm's discovery-token-ca-cert-hash). */
  caCertHash: string;
}

export function joinCommand(input: JoinCommandInput): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(input.caCertHash)) {
    throw new Error(`invalid CA certificate hash ${JSON.stringify(input.caCertHash)}: expected sha256:<64 hex digits>`);
  }
  return `kubeadm join ${joinEndpoint(input.endpoint)} --token ${formatToken(input.token)} --discovery-token-ca-cert-hash ${input.caCertHash}`;
}

const SECRETS_PATH = `/api/v1/namespaces/${BOOTSTRAP_TOKEN_NAMESPACE}/secrets`;

export interface MintOptions {
  ttlSeconds?: number;
  description?: string;
  now?: Date;
  randomBytes?: (size: number) => Uint8Array;
}

/** Creates a new bootstrap token in the tenant (a fresh id on the rare id collision). */
export async function mintJoinToken(tenant: KubeClient, options: MintOptions = {}): Promise<MintedJoinToken> {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error(`invalid token TTL ${ttlSeconds}: must be a positive whole number of seconds`);
  const now = options.now ?? new Date();
  // Whole seconds: the Secret stores RFC 3339 without fractions, and info must say the same.
  const expiresAt = new Date(Math.floor(now.getTime() / 1000) * 1000 + ttlSeconds * 1000);
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = generateBootstrapToken(options.randomBytes);
    const body = bootstrapTokenSecret(token, { expiresAt, description: options.description });
    try {
      const created = await tenant.request<V1Secret>('POST', SECRETS_PATH, { body });
      const info = tokenInfoFromSecret(created) ?? { id: token.id, usages: ['authentication', 'signing'], groups: [DEFAULT_NODE_TOKEN_GROUP], expiresAt };
      return { token, info };
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  throw new Error('could not mint a bootstrap token: 5 id collisions in a row');
}

/** Tokens in the tenant that have not expired yet (the tokencleaner removes the expired ones later). */
export async function listJoinTokens(tenant: KubeClient, now: Date = new Date()): Promise<JoinTokenInfo[]> {
  const list = await tenant.request<V1SecretList>('GET', SECRETS_PATH, { query: { fieldSelector: `type=${BOOTSTRAP_TOKEN_SECRET_TYPE}` } });
  return list.items
    .map(tokenInfoFromSecret)
    .filter((info): info is JoinTokenInfo => info !== undefined)
    .filter((info) => info.expiresAt === undefined || info.expiresAt.getTime() > now.getTime())
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Deletes a token; false when there was none with that id. */
export async function revokeJoinToken(tenant: KubeClient, id: string): Promise<boolean> {
  if (!TOKEN_ID_PATTERN.test(id)) return false;
  try {
    await tenant.request('DELETE', `${SECRETS_PATH}/${BOOTSTRAP_TOKEN_SECRET_PREFIX}${id}`);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
