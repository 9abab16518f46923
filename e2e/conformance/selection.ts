// Which specs run: the `[Conformance]` set minus the named skips (each with the reason this test bed cannot
// run it), or a focus of its own (the CI subset). Pure: the ginkgo arguments from a selection.

/** A spec (or a family of specs) left out, and why. `pattern` is a regular expression over the full spec text. */
export interface NamedSkip {
  pattern: string;
  reason: string;
}

/**
 * The skips of a full `[Conformance]` run on the test bed. Each names the specs by their text and says what
 * the test bed lacks; everything else runs.
 */
export const CONFORMANCE_SKIPS: NamedSkip[] = [
  {
    pattern: String.raw`\[sig-node\] ImageVolume should succeed with pod and pull policy of Always`,
    reason: 'pulls its volume image from the registry (pull policy Always) into a runtime with image volumes (containerd >= 2.1): the test bed reaches no registry and its workers run Debian\'s containerd 1.6',
  },
];

/**
 * The CI subset (`e2e/tests/conformance.e2e.ts`): conformance specs that check what a tenant serves, a few
 * minutes on two cores: api-machinery without webhooks, the `kubernetes` Service's endpoints, DNS and Service
 * basics, and pod-to-pod across the two workers.
 */
export const CI_SUBSET: string[] = [
  // api-machinery, without webhooks and aggregated APIs (minutes each on two cores)
  String.raw`\[sig-api-machinery\] Namespaces \[Serial\] should ensure that all pods are removed when a namespace is deleted`,
  String.raw`\[sig-api-machinery\] CustomResourceDefinition resources \[Privileged:ClusterAdmin\] Simple CustomResourceDefinition creating/deleting custom resource definition objects works`,
  String.raw`\[sig-api-machinery\] Discovery should validate PreferredVersion for each APIGroup`,
  String.raw`\[sig-api-machinery\] ResourceQuota should create a ResourceQuota and capture the life of a pod`,
  String.raw`\[sig-api-machinery\] Garbage collector should delete RS created by deployment when not orphaning`,
  String.raw`\[sig-api-machinery\] server version should find the server version`,
  // service account tokens checked by a pod against the issuer's discovery document and keys
  String.raw`\[sig-auth\] ServiceAccounts ServiceAccountIssuerDiscovery should support OIDC discovery of service account issuer`,
  // the kubernetes Service's Endpoints and EndpointSlice
  String.raw`\[sig-network\] API Server should have Endpoints and EndpointSlices pointing to API Server`,
  // DNS and Services
  String.raw`\[sig-network\] DNS should provide DNS for the cluster`,
  String.raw`\[sig-network\] DNS should provide DNS for services`,
  String.raw`\[sig-network\] Services should serve a basic endpoint from pods`,
  String.raw`\[sig-network\] Services should be able to create a functioning NodePort service`,
  // pod to pod across the two workers
  String.raw`\[sig-network\] Networking Granular Checks: Pods should function for intra-pod communication: http`,
];

export interface Selection {
  focus: string[];
  skips: NamedSkip[];
}

export const fullConformance = (): Selection => ({ focus: [String.raw`\[Conformance\]`], skips: CONFORMANCE_SKIPS });
export const ciSubset = (): Selection => ({ focus: CI_SUBSET, skips: [] });

/** ginkgo's --focus and --skip (each a list of regular expressions; ginkgo ORs repeated flags). */
export function ginkgoSelectionArgs(selection: Selection): string[] {
  return [...selection.focus.map((f) => `--focus=${f}`), ...selection.skips.map((s) => `--skip=${s.pattern}`)];
}

/** The reason a spec was skipped by name, or undefined when no named skip matches its text. */
export function skipReason(specText: string, skips: NamedSkip[]): string | undefined {
  return skips.find((s) => new RegExp(s.pattern).test(specText))?.reason;
}
