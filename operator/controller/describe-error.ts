// Errors as a user should read them, and which of them mean "nothing answered at that address".
import { KubeApiError } from '../../core/index.ts';

/** What a user should read: the API server's answer for API errors, the message otherwise. */
export function describeError(error: unknown): string {
  if (error instanceof KubeApiError) return `${error.statusCode} ${error.reason}: ${error.message}`;
  if (!(error instanceof Error)) return String(error);
  // fetch says only "fetch failed"; why (refused, timed out, a certificate) is in its cause.
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

/**
 * True when the error says the address did not lead to the API server: no connection, a timeout, or a TLS
 * peer that is not the tenant's (another certificate). Any HTTP answer, even 401/403/500, came from the API server.
 */
export function isUnreachableError(error: unknown): boolean {
  return !(error instanceof KubeApiError);
}
