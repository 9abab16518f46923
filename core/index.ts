// The shared core: what both the operator (operator/) and the REST API (api/) use. Both import it through
// this file only (core/boundaries.test.ts enforces that), so what is exported here is the core's public API.
//
//   contract.ts      the names everybody agrees on: the CRD's group/version/kind, phases, condition types,
//                    labels, annotations, the finalizer, and the name of every object derived from a tenant
//   tenant.ts        one tenant shape: a TenantControlPlane resolved into a checked, defaulted value
//   kube/            the Kubernetes client, server-side apply, supervised informers, backoff, leader election on a Lease
//   pki/             a tenant's kubeadm PKI, kubeconfigs, per-user client certificates
//   join-tokens.ts   kubeadm bootstrap tokens inside a tenant and the `kubeadm join` command
//   tenant-access.ts reaching a tenant's API server with the credentials the operator keeps in the host
//   log.ts           the product's structured logger
//   version.ts       the product's version (package.json), which both programs report
export * from './contract.ts';
export * from './tenant.ts';
export * from './kube/kube-client.ts';
export * from './kube/apply.ts';
export * from './kube/informer.ts';
export * from './kube/backoff.ts';
export * from './kube/leader-election.ts';
export * from './pki/index.ts';
export * from './join-tokens.ts';
export * from './tenant-access.ts';
export * from './log.ts';
export * from './version.ts';
