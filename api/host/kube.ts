// Small helpers shared by the host-cluster stores: the host client, and the mapping of "the host
// API server is unreachable or overloaded" to a 503 the portal can retry.
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeClient } from '../../core/index.ts';
import { ProblemError } from '../problems.ts';

export { KubeApiError, KubeClient };

export function isStatus(error: unknown, ...codes: number[]): boolean {
  return error instanceof KubeApiError && codes.includes(error.statusCode);
}

/**
 * Errors that are the host's fault, not the caller's and not ours: no answer (network, timeout),
 * 5xx, or 429 (API priority and fairness pushing back). Everything else is rethrown unchanged.
 */
export function hostUnavailable(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return undefined;
  if (error instanceof KubeApiError) {
    if (error.statusCode >= 500 || error.statusCode === 429) {
      return new ProblemError(503, 'host-unavailable', `the host cluster's API server answered ${error.statusCode} ${error.reason}; retry later`, {
        headers: { 'retry-after': '5' },
      });
    }
    return undefined;
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError' || error.message === 'fetch failed')) {
    return new ProblemError(503, 'host-unavailable', `the host cluster's API server could not be reached (${error.message}); retry later`, {
      headers: { 'retry-after': '5' },
    });
  }
  return undefined;
}

/**
 * Merges `data` into the object at `${collection}/${name}` (a JSON merge patch of those entries, atomic in
 * the API server); when there is no object yet, creates `initial` (which must carry `data`), and when
 * another writer created it meanwhile, merges into theirs.
 */
export async function mergeDataOrCreate(client: KubeClient, collection: string, name: string, data: Record<string, string>, initial: object): Promise<void> {
  const patch = () => client.request('PATCH', `${collection}/${name}`, { body: { data }, contentType: 'application/merge-patch+json' });
  try {
    await patch();
    return;
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
  try {
    await client.request('POST', collection, { body: initial });
  } catch (error) {
    if (!isStatus(error, 409)) throw error;
    await patch();
  }
}

/** Runs a host call and turns unavailability into a 503 problem. */
export async function onHost<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw hostUnavailable(error) ?? error;
  }
}

/** The host kubeconfig: a file if given, in-cluster service account when running in a pod, else the default. */
export function loadHostKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined && path !== '') kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST !== undefined && process.env.KUBECONFIG === undefined) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
export const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
