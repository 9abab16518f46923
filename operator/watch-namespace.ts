// The namespace the operator is told to watch (--namespace) must exist: watching a namespace that does not
// is no error to the API server (lists come back empty), so a typo would otherwise give an operator that
// runs, is ready, and never reconciles anything. Checked once at start, before anything else.
import { isNotFound, KubeApiError, type KubeClient } from '../core/index.ts';

export class WatchNamespaceMissing extends Error {
  override name = 'WatchNamespaceMissing';
}

/**
 * Resolves 'exists', or 'unknown' when the operator may not read namespaces (a namespace-scoped install:
 * nothing to check with); throws WatchNamespaceMissing when the API server says there is no such namespace.
 */
export async function checkWatchNamespace(client: KubeClient, namespace: string, signal?: AbortSignal): Promise<'exists' | 'unknown'> {
  try {
    await client.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}`, { signal });
    return 'exists';
  } catch (error) {
    if (isNotFound(error)) {
      throw new WatchNamespaceMissing(
        `--namespace ${namespace} (WATCH_NAMESPACE): the namespace does not exist in the host cluster; create it first, or leave the setting empty to watch every namespace`,
      );
    }
    if (error instanceof KubeApiError && error.statusCode === 403) return 'unknown';
    throw error;
  }
}
