// The Helm chart (manifests/kubeception) with the real helm, without a cluster: it lints, renders every
// object with its defaults, refuses values that make no sense with the schema's message, renders HTTPS
// by default and plain HTTP only when asked, renders pods that pass Pod Security "restricted" and RBAC without the forbidden
// permissions, and manifests/install.yaml is what `npm run manifests` writes. Needs the helm binary
// (`bash e2e/build/build-kubernetes.sh helm`); not the test bed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, helm, helmBinary } from '../../manifests/helm.ts';
import { GENERATED_FILES, INSTALL_NAMESPACE, RELEASE_NAME, renderGeneratedFiles } from '../../manifests/generate.ts';
import { CREATED_BY_API, CRD_NAME, LABELS } from '../../core/contract.ts';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}
interface Rule { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] }
interface Container {
  name: string;
  env?: { name: string; value?: string }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { scheme?: string; port: string } };
  livenessProbe?: { httpGet?: { scheme?: string; port: string } };
  securityContext?: { allowPrivilegeEscalation?: boolean; privileged?: boolean; runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[]; add?: string[] }; seccompProfile?: { type: string } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  containers: Container[];
  initContainers?: Container[];
  volumes?: Record<string, unknown>[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

// fails the file at once, with the build command, when helm is missing
const HELM_PRESENT = (() => {
  try {
    return { ok: true as const, path: helmBinary() };
  } catch (error) {
    return { ok: false as const, message: (error as Error).message };
  }
})();

async function helmOk(args: string[]): Promise<string> {
  if (!HELM_PRESENT.ok) assert.fail(HELM_PRESENT.message);
  const result = await helm(args);
  assert.equal(result.code, 0, `helm ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Renders the chart with extra `helm template` arguments (e.g. --set); returns its objects. */
async function render(...args: string[]): Promise<K8sObject[]> {
  const out = await helmOk(['template', RELEASE_NAME, CHART_DIR, '--namespace', INSTALL_NAMESPACE, ...args]);
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);
}

/** `helm template` that must fail; returns its message. */
async function refusal(...args: string[]): Promise<string> {
  if (!HELM_PRESENT.ok) assert.fail(HELM_PRESENT.message);
  const result = await helm(['template', RELEASE_NAME, CHART_DIR, '--namespace', INSTALL_NAMESPACE, ...args]);
  assert.notEqual(result.code, 0, `helm template ${args.join(' ')} should have failed, but rendered:\n${result.stdout.slice(0, 400)}`);
  return result.stderr;
}

const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind} ${name} is rendered (got ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')})`);
  return found;
};
const podSpec = (deployment: K8sObject) => (deployment.spec as { template: { spec: PodSpec } }).template.spec;
const envOf = (container: Container) => Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));

test('helm lint passes, also with --strict', async () => {
  await helmOk(['lint', CHART_DIR]);
  await helmOk(['lint', '--strict', CHART_DIR]);
  await helmOk(['lint', '--strict', CHART_DIR, '--set', 'api.tls.secretName=api-tls', '--set', 'watchNamespace=tenants']);
});

test('helm template with the defaults renders every object of the install', async () => {
  const objects = await render();
  const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    'ClusterRole/kubeception-api',
    'ClusterRole/kubeception-api-namespaces',
    'ClusterRole/kubeception-operator',
    'ClusterRole/kubeception-operator-cluster',
    'ClusterRoleBinding/kubeception-api',
    'ClusterRoleBinding/kubeception-api-namespaces',
    'ClusterRoleBinding/kubeception-operator',
    'ClusterRoleBinding/kubeception-operator-cluster',
    `CustomResourceDefinition/${CRD_NAME}`,
    'Deployment/kubeception-api',
    'Deployment/kubeception-operator',
    `Namespace/${INSTALL_NAMESPACE}`,
    'NetworkPolicy/kubeception-api',
    'NetworkPolicy/kubeception-operator',
    'PodDisruptionBudget/kubeception-api',
    'PodDisruptionBudget/kubeception-operator',
    'Role/kubeception-api',
    'Role/kubeception-operator-leader-election',
    'Role/kubeception-operator-webhook',
    'RoleBinding/kubeception-api',
    'RoleBinding/kubeception-operator-leader-election',
    'RoleBinding/kubeception-operator-webhook',
    'Service/kubeception-api',
    'Service/kubeception-operator-webhook',
    'ServiceAccount/kubeception-api',
    'ServiceAccount/kubeception-operator',
    'ValidatingAdmissionPolicy/kubeception-api-namespace-deletion',
    'ValidatingAdmissionPolicyBinding/kubeception-api-namespace-deletion',
    'ValidatingWebhookConfiguration/kubeception-tenantcontrolplanes',
  ]);
  for (const o of objects) {
    if (!['Namespace', 'CustomResourceDefinition'].includes(o.kind) && !o.kind.startsWith('Cluster') && !o.kind.startsWith('Validating')) {
      assert.equal(o.metadata.namespace, INSTALL_NAMESPACE, `${o.kind}/${o.metadata.name} is in the release namespace`);
    }
  }
  // the CRD is the generated one, kept on uninstall
  const crd = find(objects, 'CustomResourceDefinition', CRD_NAME);
  assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
  const generated = parseAllDocuments(await readFile(new URL('../../crds/kubeception.io_tenantcontrolplanes.yaml', import.meta.url), 'utf8'))[0]!.toJS() as K8sObject;
  assert.deepEqual(crd.spec, generated.spec, 'the CRD template has the spec of crds/kubeception.io_tenantcontrolplanes.yaml');
  // the namespace: Pod Security restricted, kept on uninstall
  const ns = find(objects, 'Namespace', INSTALL_NAMESPACE);
  for (const mode of ['enforce', 'audit', 'warn']) assert.equal(ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}`], 'restricted');
  assert.equal(ns.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
  // images: appVersion tag by default, the operator's settings as the programs name them
  const operator = podSpec(find(objects, 'Deployment', 'kubeception-operator')).containers[0]!;
  assert.equal((operator as Container & { image: string }).image, 'kubeception.local/kubeception-operator:0.1.0');
  assert.deepEqual(envOf(operator), {
    POD_NAME: undefined, // a fieldRef
    LEASE_NAMESPACE: INSTALL_NAMESPACE,
    CONCURRENCY: '8',
    METRICS_PORT: '9090',
    IMAGE_REGISTRY: 'registry.k8s.io',
    IMAGE_PULL_POLICY: 'IfNotPresent',
    INSTALL_CRDS: 'false',
    LOG_LEVEL: 'info',
    API_SERVICE_ACCOUNT: `${INSTALL_NAMESPACE}/kubeception-api`,
    WEBHOOK_PORT: '9443',
    WEBHOOK_SERVICE: `${INSTALL_NAMESPACE}/kubeception-operator-webhook`,
    WEBHOOK_CONFIGURATION: 'kubeception-tenantcontrolplanes',
  });
  const api = podSpec(find(objects, 'Deployment', 'kubeception-api')).containers[0]!;
  assert.equal((api as Container & { image: string }).image, 'kubeception.local/kubeception-api:0.1.0');
  assert.deepEqual(envOf(api), {
    API_PORT: '8080',
    KUBECEPTION_API_NAMESPACE: INSTALL_NAMESPACE,
    DEFAULT_SERVICE_TYPE: 'LoadBalancer',
    API_MAX_CLUSTERS_PER_ACCOUNT: '20',
    API_MAX_JOIN_TOKENS_PER_CLUSTER: '10',
    API_MAX_KUBECONFIGS_PER_HOUR: '60',
    API_TLS_CERT_FILE: '/etc/kubeception/tls/tls.crt',
    API_TLS_KEY_FILE: '/etc/kubeception/tls/tls.key',
    LOG_LEVEL: 'info',
  }, 'HTTPS by default, no proxy trusted, the default quotas');
  assert.equal(api.readinessProbe?.httpGet?.scheme, 'HTTPS');
  assert.deepEqual((find(objects, 'Service', 'kubeception-api').spec as { ports: { port: number }[] }).ports.map((p) => p.port), [443]);
  // replicas spread over nodes
  for (const name of ['kubeception-operator', 'kubeception-api']) {
    const spec = podSpec(find(objects, 'Deployment', name)) as PodSpec & { affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm: { topologyKey: string } }[] } } };
    assert.equal(spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname', `${name} replicas prefer different nodes`);
  }
});

test('values that make no sense fail helm template with the schema path', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['no operator replica with leader election on', ['--set', 'operator.replicas=0'], /operator\/replicas.*minimum: got 0, want 1/s],
    ['two operators without leader election', ['--set', 'operator.leaderElection=false'], /operator\/replicas.*maximum: got 2, want 1/s],
    ['an empty image repository', ['--set', 'image.operator.repository='], /image\/operator\/repository/],
    ['an empty tag and no digest', ['--set', 'image.tag='], /image\/tag.*minLength: got 0, want 1/s],
    ['an unknown exposure', ['--set', 'api.defaultServiceType=Public'], /api\/defaultServiceType.*value must be one of 'ClusterIP', 'NodePort', 'LoadBalancer'/s],
    ['replicas that are not an integer', ['--set-json', 'api.replicas=1.5'], /api\/replicas.*got number, want integer/s],
    ['replicas given as text', ['--set-string', 'operator.replicas=two'], /operator\/replicas.*want integer/s],
    ['a digest that is not sha256', ['--set', 'image.api.digest=latest'], /image\/api\/digest/],
    ['a misspelt value', ['--set', 'operator.replica=2'], /additional properties 'replica' not allowed/],
    ['a namespace name that is not a DNS label', ['--set', 'watchNamespace=Tenants_A'], /watchNamespace/],
    ['a cluster namespace other than the watched one', ['--set', 'watchNamespace=a', '--set', 'api.clusterNamespace=b'], /api.clusterNamespace "b" differs from watchNamespace "a"/],
  ];
  for (const [what, args, message] of cases) {
    await t.test(what, async () => {
      const stderr = await refusal(...args);
      assert.match(stderr, message, `helm's message for ${args.join(' ')}:\n${stderr}`);
    });
  }
  // an empty tag is fine when both images are pinned by digest
  const digest = `sha256:${'a'.repeat(64)}`;
  const objects = await render('--set', 'image.tag=', '--set', `image.operator.digest=${digest}`, '--set', `image.api.digest=${digest}`);
  const image = (podSpec(find(objects, 'Deployment', 'kubeception-operator')).containers[0] as Container & { image: string }).image;
  assert.equal(image, `kubeception.local/kubeception-operator@${digest}`);
});

test('TLS by default: the API serves HTTPS on 443 from the mounted Secret, probes use HTTPS', async () => {
  const objects = await render();
  const spec = podSpec(find(objects, 'Deployment', 'kubeception-api'));
  const api = spec.containers[0]!;
  assert.equal(api.readinessProbe?.httpGet?.scheme, 'HTTPS');
  assert.equal(api.livenessProbe?.httpGet?.scheme, 'HTTPS');
  const env = envOf(api);
  const mount = api.volumeMounts?.find((m) => m.name === 'tls');
  assert.ok(mount?.readOnly, 'the TLS Secret is mounted read-only');
  assert.equal(env.API_TLS_CERT_FILE, `${mount.mountPath}/tls.crt`);
  assert.equal(env.API_TLS_KEY_FILE, `${mount.mountPath}/tls.key`);
  assert.deepEqual(spec.volumes?.find((v) => v.name === 'tls')?.secret, { secretName: 'kubeception-api-tls', defaultMode: 0o440 });
  const ports = (find(objects, 'Service', 'kubeception-api').spec as { ports: { port: number; name: string }[] }).ports;
  assert.deepEqual(ports.map((p) => [p.name, p.port]), [['https', 443]]);
});

test('plain HTTP only when asked (api.insecureHttp); no certificate Secret and no HTTP fails with what to set; trusted proxies reach the API', async () => {
  const objects = await render('--set', 'api.insecureHttp=true');
  const spec = podSpec(find(objects, 'Deployment', 'kubeception-api'));
  const api = spec.containers[0]!;
  assert.equal(envOf(api).API_INSECURE_HTTP, 'true');
  assert.equal(envOf(api).API_TLS_CERT_FILE, undefined);
  assert.equal(api.readinessProbe?.httpGet?.scheme, 'HTTP');
  assert.equal(spec.volumes?.find((v) => v.name === 'tls'), undefined);
  assert.deepEqual((find(objects, 'Service', 'kubeception-api').spec as { ports: { port: number }[] }).ports.map((p) => p.port), [80]);

  assert.match(await refusal('--set', 'api.tls.secretName='), /api\.tls\.secretName is empty: the API serves HTTPS .* or set api\.insecureHttp=true/s);
  const proxied = podSpec(find(await render('--set-json', 'api.trustedProxies=["10.244.0.0/16","192.168.1.5"]'), 'Deployment', 'kubeception-api')).containers[0]!;
  assert.equal(envOf(proxied).API_TRUST_PROXY, '10.244.0.0/16,192.168.1.5');
  assert.match(await refusal('--set-json', 'api.trustedProxies=["0.0.0.0/0"]'), /api\/trustedProxies\/0/);
  assert.match(await refusal('--set-json', 'api.trustedProxies=true'), /api\/trustedProxies.*want array/s);
});

test('the rendered pods pass Pod Security "restricted"', async () => {
  for (const args of [[], ['--set', 'api.insecureHttp=true']]) {
    const objects = await render(...args);
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    assert.equal(deployments.length, 2);
    for (const deployment of deployments) {
      const spec = podSpec(deployment);
      const where = `Deployment ${deployment.metadata.name}`;
      assert.ok(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC, `${where}: no host namespaces`);
      for (const volume of spec.volumes ?? []) {
        const type = Object.keys(volume).find((k) => k !== 'name')!;
        assert.ok(['emptyDir', 'secret', 'configMap', 'projected', 'downwardAPI', 'persistentVolumeClaim', 'ephemeral', 'csi'].includes(type), `${where}: volume type ${type} is allowed`);
      }
      for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const sc = container.securityContext ?? {};
        const at = `${where} container ${container.name}`;
        assert.equal(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation false`);
        assert.notEqual(sc.privileged, true, `${at}: not privileged`);
        assert.ok(sc.capabilities?.drop?.includes('ALL'), `${at}: capabilities drop ALL`);
        assert.ok((sc.capabilities?.add ?? []).every((c) => c === 'NET_BIND_SERVICE'), `${at}: adds no capability but NET_BIND_SERVICE`);
        assert.ok(sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot, `${at}: runAsNonRoot`);
        assert.notEqual(sc.runAsUser ?? spec.securityContext?.runAsUser, 0, `${at}: not user 0`);
        assert.equal((sc.seccompProfile ?? spec.securityContext?.seccompProfile)?.type, 'RuntimeDefault', `${at}: seccomp RuntimeDefault`);
        assert.equal(sc.readOnlyRootFilesystem, true, `${at}: read-only root filesystem`);
        assert.ok(container.volumeMounts?.some((m) => m.mountPath === '/tmp'), `${at}: a writable /tmp`);
      }
    }
  }
});

/** Rules granted to a service account: ClusterRoles through ClusterRoleBindings (scope "*"), Roles and ClusterRoles through RoleBindings (scope: the namespace). */
function grants(objects: K8sObject[], serviceAccount: string): { scope: string; rule: Rule }[] {
  const rulesOf = (kind: string, name: string, namespace?: string) =>
    (objects.find((o) => o.kind === kind && o.metadata.name === name && (kind === 'ClusterRole' || o.metadata.namespace === namespace))?.rules ?? []) as Rule[];
  const out: { scope: string; rule: Rule }[] = [];
  for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    const subjects = binding.subjects as { kind: string; name: string; namespace: string }[];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === INSTALL_NAMESPACE)) continue;
    const ref = binding.roleRef as { kind: string; name: string };
    const scope = binding.kind === 'ClusterRoleBinding' ? '*' : binding.metadata.namespace!;
    for (const rule of rulesOf(ref.kind, ref.name, binding.metadata.namespace)) out.push({ scope, rule });
  }
  return out;
}
const allows = (rule: Rule, group: string, resource: string, verb: string) =>
  (rule.apiGroups ?? []).some((g) => g === group || g === '*') && (rule.resources ?? []).some((r) => r === resource || r === '*') && rule.verbs.some((v) => v === verb || v === '*');

test('RBAC: no wildcard, no cluster-wide Secret read for the API, no CRD write, no namespace deletion for the operator', async () => {
  for (const args of [[], ['--set', 'watchNamespace=tenants']]) {
    const objects = await render(...args);
    const operator = grants(objects, 'kubeception-operator');
    const api = grants(objects, 'kubeception-api');
    assert.ok(operator.length > 0 && api.length > 0);
    for (const { rule } of [...operator, ...api]) {
      assert.ok(![...(rule.verbs ?? []), ...(rule.resources ?? []), ...(rule.apiGroups ?? [])].includes('*'), `no wildcard: ${JSON.stringify(rule)}`);
      for (const verb of ['escalate', 'bind', 'impersonate']) assert.ok(!rule.verbs.includes(verb), `no ${verb}: ${JSON.stringify(rule)}`);
    }
    for (const verb of ['get', 'list', 'watch']) {
      const wide = api.filter(({ scope, rule }) => allows(rule, '', 'secrets', verb) && (scope !== INSTALL_NAMESPACE || !rule.resourceNames?.length));
      assert.deepEqual(wide, [], `the API may ${verb} only its key Secret`);
    }
    const keyStore = api.filter(({ rule }) => allows(rule, '', 'secrets', 'get'));
    assert.deepEqual(keyStore.map(({ scope, rule }) => [scope, rule.resourceNames]), [[INSTALL_NAMESPACE, ['kubeception-api-keys']]]);
    for (const verb of ['create', 'update', 'patch', 'delete']) {
      assert.deepEqual(api.filter(({ rule }) => allows(rule, '', 'secrets', verb)), [], `the API cannot ${verb} any Secret: keys-cli is the key store's only writer`);
    }
    assert.ok(api.every(({ scope, rule }) => !allows(rule, '', 'configmaps', 'get') || scope === INSTALL_NAMESPACE), 'ConfigMaps in the release namespace only');
    for (const verb of ['create', 'update', 'patch', 'delete']) {
      assert.ok(![...operator, ...api].some(({ rule }) => allows(rule, 'apiextensions.k8s.io', 'customresourcedefinitions', verb)), `no CRD ${verb}`);
    }
    const crdRead = operator.filter(({ rule }) => allows(rule, 'apiextensions.k8s.io', 'customresourcedefinitions', 'get'));
    assert.deepEqual(crdRead.map(({ rule }) => rule.resourceNames), [[CRD_NAME]]);
    assert.ok(!operator.some(({ rule }) => allows(rule, '', 'namespaces', 'delete')), 'the operator deletes no namespace');
    assert.ok(!operator.some(({ rule }) => allows(rule, '', 'namespaces', 'patch') && !rule.resourceNames?.length), 'the operator patches only its own namespace');
  }
  // a watched namespace narrows the operator's tenant permissions to it; beside them only the admission
  // webhook's own certificate Secret, by name, in the release namespace
  const narrowed = grants(await render('--set', 'watchNamespace=tenants'), 'kubeception-operator');
  const secretReads = narrowed.filter(({ rule }) => allows(rule, '', 'secrets', 'get'));
  assert.deepEqual(secretReads.filter(({ scope }) => scope !== 'tenants').map(({ scope, rule }) => [scope, rule.resourceNames]), [[INSTALL_NAMESPACE, ['kubeception-operator-webhook-tls']]]);
  assert.deepEqual(
    narrowed.filter(({ rule }) => allows(rule, 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'update')).map(({ rule }) => rule.resourceNames),
    [['kubeception-tenantcontrolplanes']],
    'the operator updates only its own webhook configuration',
  );
});

test('the admission policy lets the API delete only the namespaces it labelled as created', async () => {
  const objects = await render();
  const policy = find(objects, 'ValidatingAdmissionPolicy', 'kubeception-api-namespace-deletion').spec as {
    matchConstraints: { resourceRules: { operations: string[]; resources: string[] }[] };
    matchConditions: { expression: string }[];
    validations: { expression: string; messageExpression: string }[];
  };
  assert.deepEqual(policy.matchConstraints.resourceRules.map((r) => [r.operations, r.resources]), [[['DELETE'], ['namespaces']]]);
  assert.match(policy.matchConditions[0]!.expression, new RegExp(`system:serviceaccount:${INSTALL_NAMESPACE}:kubeception-api'`));
  assert.ok(policy.validations[0]!.expression.includes(`oldObject.metadata.labels['${LABELS.createdBy}'] == '${CREATED_BY_API}'`));
  const binding = find(objects, 'ValidatingAdmissionPolicyBinding', 'kubeception-api-namespace-deletion').spec as { validationActions: string[] };
  assert.deepEqual(binding.validationActions, ['Deny']);
  // with one shared cluster namespace the API has no namespace permissions, and no policy is needed
  const shared = await render('--set', 'api.clusterNamespace=clusters');
  assert.ok(!shared.some((o) => o.kind.startsWith('ValidatingAdmissionPolicy')));
  assert.ok(!grants(shared, 'kubeception-api').some(({ rule }) => (rule.resources ?? []).includes('namespaces')));
});

test('the admission webhook: a Service to the operator pods, a configuration for tcp creates and address changes, values honoured', async () => {
  interface Webhook {
    name: string;
    clientConfig: { service: { namespace: string; name: string; path: string; port: number }; caBundle?: string };
    rules: { apiGroups: string[]; operations: string[]; resources: string[]; scope: string }[];
    namespaceSelector?: { matchLabels: Record<string, string> };
    matchConditions: { name: string; expression: string }[];
    failurePolicy: string;
    sideEffects: string;
    admissionReviewVersions: string[];
    timeoutSeconds: number;
  }
  const objects = await render();
  const service = find(objects, 'Service', 'kubeception-operator-webhook').spec as { selector: Record<string, string>; ports: { port: number; targetPort: string }[] };
  assert.equal(service.selector['app.kubernetes.io/component'], 'operator');
  assert.deepEqual(service.ports.map((p) => [p.port, p.targetPort]), [[443, 'webhook']]);
  const operator = podSpec(find(objects, 'Deployment', 'kubeception-operator')).containers[0]!;
  assert.deepEqual(operator.ports?.find((p) => p.name === 'webhook'), { name: 'webhook', containerPort: 9443 });
  const policy = find(objects, 'NetworkPolicy', 'kubeception-operator').spec as { ingress: { ports: { port: number }[] }[] };
  assert.deepEqual(policy.ingress[0]!.ports.map((p) => p.port), [9090, 9443], 'the NetworkPolicy lets the API server in');

  const [webhook, ...others] = (find(objects, 'ValidatingWebhookConfiguration', 'kubeception-tenantcontrolplanes') as unknown as { webhooks: Webhook[] }).webhooks;
  assert.equal(others.length, 0);
  assert.deepEqual(webhook!.clientConfig, { service: { namespace: INSTALL_NAMESPACE, name: 'kubeception-operator-webhook', path: '/validate-tenantcontrolplanes', port: 443 } }, 'no caBundle: the operator sets it');
  assert.deepEqual(webhook!.rules.map((r) => [r.apiGroups, r.operations, r.resources, r.scope]), [[['kubeception.io'], ['CREATE', 'UPDATE'], ['tenantcontrolplanes'], 'Namespaced']]);
  assert.deepEqual([webhook!.failurePolicy, webhook!.sideEffects, webhook!.admissionReviewVersions, webhook!.timeoutSeconds], ['Fail', 'None', ['v1'], 5]);
  assert.deepEqual(webhook!.matchConditions.map((c) => c.name), ['names-an-address', 'created-or-network-profile-changed']);
  assert.equal(webhook!.namespaceSelector, undefined, 'every namespace when the operator watches all');

  const narrowed = await render('--set', 'watchNamespace=tenants', '--set', 'operator.admissionWebhook.failurePolicy=Ignore', '--set', 'operator.admissionWebhook.port=8443');
  const narrowedHook = (find(narrowed, 'ValidatingWebhookConfiguration', 'kubeception-tenantcontrolplanes') as unknown as { webhooks: Webhook[] }).webhooks[0]!;
  assert.deepEqual(narrowedHook.namespaceSelector, { matchLabels: { 'kubernetes.io/metadata.name': 'tenants' } });
  assert.equal(narrowedHook.failurePolicy, 'Ignore');
  assert.equal(envOf(podSpec(find(narrowed, 'Deployment', 'kubeception-operator')).containers[0]!).WEBHOOK_PORT, '8443');

  const off = await render('--set', 'operator.admissionWebhook.enabled=false');
  assert.deepEqual(off.filter((o) => o.kind === 'ValidatingWebhookConfiguration' || o.metadata.name.includes('webhook')).map((o) => `${o.kind}/${o.metadata.name}`), []);
  const offEnv = envOf(podSpec(find(off, 'Deployment', 'kubeception-operator')).containers[0]!);
  assert.equal(offEnv.WEBHOOK_PORT, '0', 'explicitly off: in a pod the operator would serve it by default');
  assert.equal(offEnv.WEBHOOK_SERVICE, undefined);
  assert.match(await refusal('--set', 'operator.admissionWebhook.failurePolicy=Maybe'), /admissionWebhook\/failurePolicy/);
});

test('one replica each: no PodDisruptionBudget that would block every drain', async () => {
  const objects = await render('--set', 'operator.replicas=1', '--set', 'api.replicas=1');
  assert.deepEqual(objects.filter((o) => o.kind === 'PodDisruptionBudget'), []);
});

test('manifests/install.yaml and the generated chart templates are what `npm run manifests` writes', async () => {
  if (!HELM_PRESENT.ok) assert.fail(HELM_PRESENT.message);
  const wanted = await renderGeneratedFiles();
  for (const [key, file] of Object.entries(GENERATED_FILES) as [keyof typeof GENERATED_FILES, string][]) {
    assert.equal(await readFile(file, 'utf8').catch(() => ''), wanted[key], `${file} is stale: run npm run manifests`);
  }
});
