// Helpers for operator/tenant's unit tests: a real CA certificate and a sample input.
import { createCaCertificate, generatePrivateKey, type TenantControlPlane } from '../../core/index.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import type { TenantBootstrapInput } from './input.ts';

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
