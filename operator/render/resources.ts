// The CRD's resource shape (requests required, cpu/memory only) as Kubernetes' ResourceRequirements.
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { ContainerResources } from '../../core/index.ts';

function quantities(values: object | undefined): Record<string, string | number> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`resource ${name}: ${JSON.stringify(value)} is not a quantity`);
    out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function resourceRequirements(resources: ContainerResources): IResourceRequirements {
  const requests = quantities(resources.requests);
  const limits = quantities(resources.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}
