// Helpers for e2e tests of the REST API over the test bed's host: API replicas listening on loopback,
// HTTP calls, and a tcp made to look like a running tenant without an operator (Ready status, and the
// host itself standing in for the tenant: its CA and admin kubeconfig as the tenant's Secrets).
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { GENERATED_FILES } from '../../crds/generate.ts';
import { CRD_NAME } from '../../crds/schema/tenant-control-plane.ts';
import { buildApp } from '../../api/app.ts';
import type { NamespaceLayout } from '../../api/host/cluster-store.ts';
import { hostDependencies, type HostDependencies, type HostSettings } from '../../api/host/index.ts';
import type { KubeClient } from '../../api/host/kube.ts';
import { eventually, type Testbed } from './testbed.ts';

export const TCP_BASE = '/apis/kubeception.io/v1alpha1';

/** The TenantControlPlane CRD, applied and Established: the API is ready only where the host serves it. */
export async function applyCrd(tb: Testbed): Promise<void> {
  await tb.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=kubeception-e2e-api', '-f', GENERATED_FILES.crd]);
  await tb.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `customresourcedefinition/${CRD_NAME}`]);
}

/** Discovery of a CRD can lag its Established condition: wait for /readyz. */
export async function waitApiReady(replica: ApiReplica): Promise<void> {
  await eventually('the API is ready', async () => ((await fetch(`${replica.base}/readyz`)).status === 200 ? true : undefined), 30_000);
}

export interface ApiReplica {
  deps: HostDependencies;
  app: FastifyInstance;
  base: string;
}

/**
 * One API replica over the host, with rate limits out of the way (tests make many requests from one
 * address); `adjust` may replace parts of its dependencies (fault injection) before it starts.
 */
export async function startApiReplica(
  tb: Testbed,
  settings: { namespace: string; layout: NamespaceLayout } & Partial<Pick<HostSettings, 'defaultLimits'>>,
  adjust: (deps: HostDependencies) => void = () => {},
): Promise<ApiReplica> {
  const deps = hostDependencies({ kubeConfig: tb.kubeConfig, ...settings });
  adjust(deps);
  await deps.start();
  const app = await buildApp({
    ...deps,
    rateLimit: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
    authFailureLimit: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
  });
  return { deps, app, base: await app.listen({ host: '127.0.0.1', port: 0 }) };
}

export async function closeApiReplicas(list: ApiReplica[]): Promise<void> {
  for (const { app, deps } of list.splice(0)) {
    await app.close();
    await deps.close();
  }
}

/** Deletes the host namespaces whose names start with `prefix` (per-cluster layouts of a test). */
export async function deleteNamespaces(host: KubeClient, prefix: string): Promise<void> {
  const namespaces = await host.request<{ items: { metadata: { name: string } }[] }>('GET', '/api/v1/namespaces').catch(() => ({ items: [] }));
  for (const ns of namespaces.items.filter((o) => o.metadata.name.startsWith(prefix))) {
    await host.request('DELETE', `/api/v1/namespaces/${ns.metadata.name}`).catch(() => {});
  }
}

/** The end of an API test file: its replicas, the cluster namespaces it made, its state namespace, the host client. */
export async function closeApiTest(host: KubeClient, replicas: ApiReplica[], prefix: string, cleanupState: () => Promise<void>): Promise<void> {
  await closeApiReplicas(replicas);
  await deleteNamespaces(host, prefix);
  await cleanupState();
  await host.close();
}

export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when it is not JSON (tests read into it freely). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One request to an API replica with an API key and an optional JSON body. */
export async function callApi(base: string, method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text === '' ? undefined : text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON (the docs page)
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** What the operator writes once a control plane serves (here without one). */
export async function markClusterReady(host: KubeClient, namespace: string, id: string, endpoint = 'https://10.0.0.5:31443'): Promise<void> {
  await host.request('PATCH', `${TCP_BASE}/namespaces/${namespace}/tenantcontrolplanes/${id}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        observedGeneration: 1,
        phase: 'Ready',
        version: 'v1.36.5',
        endpoint,
        controlPlane: { replicas: 1, readyReplicas: 1 },
        conditions: [{ type: 'Ready', status: 'True', reason: 'ControlPlaneReady', message: 'simulated by the e2e test', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }],
      },
    },
  });
}

/**
 * Makes cluster `id` (in `namespace`) a ready tenant whose API server is the host's: the Secrets the
 * operator would write, filled with the host's CA and admin kubeconfig, and a Ready status with the
 * host's address as the endpoint. Returns that endpoint.
 */
export async function useHostAsTenant(tb: Testbed, host: KubeClient, namespace: string, id: string): Promise<string> {
  const secret = (name: string, data: Record<string, string>) =>
    host.request('POST', `/api/v1/namespaces/${namespace}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) },
    });
  // What the operator would have made: the API's portal kubeconfig, the only tenant Secret it reads. The
  // host's admin kubeconfig stands in for the portal identity; the host's controller-manager signs the CSRs.
  await secret(`${id}-portal-kubeconfig`, { 'portal.conf': readFileSync(tb.kubeconfigPath, 'utf8') });
  const endpoint = tb.kubeConfig.getCurrentCluster()!.server;
  await markClusterReady(host, namespace, id, endpoint);
  return endpoint;
}
