// Placeholder wiring for the work inside a tenant; replaced by operator/tenant once it lands.
import type { Logger } from 'pino';
import type { ReconcilerOptions } from './reconcile-tenant.ts';

export function tenantBootstrapper(_deps: { logger: Logger; imageRegistry: string }): ReconcilerOptions['bootstrapTenant'] {
  return undefined;
}
