// Helpers for operator/tenant's unit tests: a real CA certificate, a sample input, a plan read back as applied.
import { createCaCertificate, generatePrivateKey, type TenantControlPlane } from '../../core/index.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import type { TenantBootstrapInput } from './input.ts';
import type { BootstrapPart } from './objects.ts';
import type { TenantBootstrapPlan } from './plan.ts';
import { observationKey, type Observation } from './status.ts';

let ca: Promise<{ certPem: string; keyPem: string }> | undefined;

/** One ECDSA CA per test process (microseconds to make, but the same PEM keeps outputs comparable). */
export function testCa(): Promise<{ certPem: string; keyPem: string }> {
  ca ??= (async () => {
    const keyPem = await generatePrivateKey('ECDSA-P256');
    return { keyPem, certPem: await createCaCertificate('kubernetes', keyPem) };
  })();
  return ca;
}

export async function sampleInput(patch: (input: TenantBootstrapInput, tcp: TenantControlPlane) => void = () => {}): Promise<TenantBootstrapInput> {
  const tcp = sampleTenant();
  const input: TenantBootstrapInput = {
    clusterName: tcp.metadata!.name!,
    spec: tcp.spec,
    caCertPem: (await testCa()).certPem,
    endpoint: 'https://10.0.0.5:31443',
  };
  patch(input, tcp);
  return input;
}

/**
 * Every planned object read back as written and rolled out (generation 2 observed; Deployments 2/2 ready,
 * DaemonSets on 2 nodes ready), except the DaemonSet of `part`, which reports `status`: the add-on under test.
 */
export function observedWith(plan: TenantBootstrapPlan, part: BootstrapPart, status: Record<string, number>): Map<string, Observation> {
  const map = new Map<string, Observation>();
  for (const entry of plan.objects) {
    const found = structuredClone(entry.object) as Record<string, unknown> & { metadata: Record<string, unknown> };
    found.metadata = { ...found.metadata, generation: 2 };
    if (found.kind === 'Deployment') found.status = { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2 };
    if (found.kind === 'DaemonSet') {
      found.status = entry.part === part ? { observedGeneration: 2, ...status } : { observedGeneration: 2, desiredNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2 };
    }
    map.set(observationKey(entry.object), { found });
  }
  return map;
}
