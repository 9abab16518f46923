// The tcp the API is about to send, checked with the CRD's own validator (crds/validate.ts: the
// same schema source as the CRD, plus mirrors of its CEL rules). Portal input is already validated
// by the route schemas, so a failure here means the API builds specs the CRD refuses: a bug, which
// must surface as an error with the CRD's message rather than as a confusing 422 from the host.
import { formatFieldErrors, validateCreate, validateUpdate } from '../crds/validate.ts';
import type { TenantControlPlane } from './tcp.ts';

export type TcpValidator = (tcp: TenantControlPlane, previous?: TenantControlPlane) => void;

export class InvalidTenantControlPlaneError extends Error {
  constructor(name: string, detail: string) {
    super(`TenantControlPlane ${name} would be refused by the CRD: ${detail}`);
    this.name = 'InvalidTenantControlPlaneError';
  }
}

export const validateWithCrd: TcpValidator = (tcp, previous) => {
  const result = previous === undefined ? validateCreate(tcp.spec, { name: tcp.metadata.name }) : validateUpdate(previous.spec, tcp.spec);
  if (!result.ok) throw new InvalidTenantControlPlaneError(tcp.metadata.name, formatFieldErrors(result.errors));
};
