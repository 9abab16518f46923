// kubeconfig files (clientcmd v1 Config) with embedded certificate data, as kubeadm writes them.
import { parse, stringify } from 'yaml';
import { parseServerUrl } from './names.ts';

export interface KubeconfigContent {
  clusterName: string;
  server: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  caCertPem: string;
  userName: string;
  clientCertPem: string;
  clientKeyPem: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: unknown, what: string): string => {
  if (typeof text !== 'string' || text === '') throw new Error(`kubeconfig has no ${what}`);
  return Buffer.from(text, 'base64').toString('utf8');
};

/** Renders a kubeconfig YAML with one cluster, one user and one context (`<user>@<cluster>`). */
export function buildKubeconfig(content: KubeconfigContent): string {
  const server = parseServerUrl(content.server, 'kubeconfig server').url;
  const contextName = `${content.userName}@${content.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: content.clusterName, cluster: { server, 'certificate-authority-data': b64(content.caCertPem) } }],
    contexts: [{ name: contextName, context: { cluster: content.clusterName, user: content.userName } }],
    'current-context': contextName,
    preferences: {},
    users: [
      {
        name: content.userName,
        user: {
          'client-certificate-data': b64(content.clientCertPem),
          'client-key-data': b64(content.clientKeyPem),
        },
      },
    ],
  });
}

interface Named<T> {
  name?: unknown;
  cluster?: T;
  context?: T;
  user?: T;
}

/**
 * Reads back what buildKubeconfig wrote (or any kubeconfig): the current context's cluster and user.
 * Throws with the missing part named when the document does not have it.
 */
export function parseKubeconfig(yamlText: string): KubeconfigContent {
  let doc: {
    clusters?: Named<{ server?: unknown; 'certificate-authority-data'?: unknown }>[];
    contexts?: Named<{ cluster?: unknown; user?: unknown }>[];
    users?: Named<{ 'client-certificate-data'?: unknown; 'client-key-data'?: unknown }>[];
    'current-context'?: unknown;
  };
  try {
    doc = parse(yamlText) ?? {};
  } catch (error) {
    throw new Error(`kubeconfig is not YAML: ${(error as Error).message}`, { cause: error });
  }
  const contexts = Array.isArray(doc.contexts) ? doc.contexts : [];
  const context = contexts.find((c) => c.name === doc['current-context']) ?? contexts[0];
  const clusterName = context?.context?.cluster;
  const userName = context?.context?.user;
  if (typeof clusterName !== 'string' || typeof userName !== 'string') {
    throw new Error('kubeconfig has no usable current context');
  }
  const cluster = (Array.isArray(doc.clusters) ? doc.clusters : []).find((c) => c.name === clusterName)?.cluster;
  const user = (Array.isArray(doc.users) ? doc.users : []).find((u) => u.name === userName)?.user;
  if (!cluster) throw new Error(`kubeconfig has no cluster "${clusterName}"`);
  if (!user) throw new Error(`kubeconfig has no user "${userName}"`);
  if (typeof cluster.server !== 'string') throw new Error(`kubeconfig cluster "${clusterName}" has no server`);
  return {
    clusterName,
    server: cluster.server,
    caCertPem: unb64(cluster['certificate-authority-data'], 'certificate-authority-data'),
    userName,
    clientCertPem: unb64(user['client-certificate-data'], 'client-certificate-data'),
    clientKeyPem: unb64(user['client-key-data'], 'client-key-data'),
  };
}
