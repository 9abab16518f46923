// Deciding what of a tenant's PKI to (re-)issue, from the Secrets that exist and what is desired.
//
// Rules:
// - A CA (or the service-account key) that exists is never regenerated. If it is unusable, or missing
//   while something it signed exists (or the tenant runs), the plan is an alarm and nothing is issued:
//   a new CA would silently break every kubeconfig and node, so the caller decides
//   (`regenerateMissingRoots: true` after a human said so).
// - A certificate is re-issued when it is unreadable, its key does not match, it was not signed by the
//   current CA, it expires within `renewBeforeMs` (30 days), or its subject, SANs, usages or key type
//   differ from the desired ones. Everything else is kept byte for byte.
// - A Secret is created when missing and replaced when its rendered data, labels, fingerprint
//   annotation or owner differ; untouched Secrets are reported as unchanged.
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { inspectCertificate, type KeyUsage } from './der.ts';
import { canonicalIp } from './ip.ts';
import {
  CA_IDS,
  CERT_IDS,
  generateTenantPki,
  tenantCertificateSpecs,
  type CaId,
  type CertId,
  type CertificateSpec,
  type GenerateOptions,
  type PartialPkiMaterial,
  type PkiMaterial,
  type TenantPkiInput,
} from './kubeadm-set.ts';
import { parseKubeconfig } from './kubeconfig.ts';
import { DEFAULT_KEY_ALGORITHM, describeKey, keyAlgorithmOf, parsePrivateKey, type KeyAlgorithm } from './keys.ts';
import {
  FINGERPRINT_ANNOTATION,
  PKI_SECRET_LAYOUT,
  pkiSecretName,
  readPkiSecrets,
  renderPkiSecrets,
  type OwnerReference,
  type PkiSecret,
  type PkiSecretLayout,
  type PkiSecretRole,
  type ReadPkiResult,
} from './secrets.ts';
import { DAY_MS, type CertAndKey } from './x509.ts';

export const DEFAULT_RENEW_BEFORE_MS = 30 * DAY_MS;
export const DEFAULT_CA_WARN_BEFORE_MS = 90 * DAY_MS;

export interface PlanOptions extends GenerateOptions {
  /** Decide as of this time (default now). */
  now?: Date;
  /** Re-issue certificates expiring within this window (default 30 days). */
  renewBeforeMs?: number;
  /** Warn about CAs expiring within this window (default 90 days); CAs are rotated explicitly. */
  caWarnBeforeMs?: number;
  /** The tenant's control plane runs (or ran): any missing root is then an alarm. */
  tenantRunning?: boolean;
  /** The caller's explicit go-ahead to create missing roots despite dependents (after an alarm). */
  regenerateMissingRoots?: boolean;
  /** Owner for every rendered Secret (the TenantControlPlane). */
  owner?: OwnerReference;
}

export type RootId = CaId | 'sa';
export type ItemId = RootId | CertId;

export interface ItemDecision {
  id: ItemId;
  action: 'keep' | 'issue';
  /** Why it is issued (empty when kept). */
  reasons: string[];
}

export interface PkiAlarm {
  /** The root concerned, if the alarm is about one (else a Secret name collision). */
  root?: RootId;
  secret: string;
  reason: string;
}

export interface PkiDecisions {
  items: ItemDecision[];
  alarms: PkiAlarm[];
  warnings: string[];
  /** Existing material without what is to be (re-)issued: the input to generateTenantPki. */
  keep: PartialPkiMaterial;
}

/** Secrets whose existence proves a root has been used (so recreating it would orphan them). */
const ROOT_DEPENDENTS: Record<RootId, PkiSecretRole[]> = {
  ca: ['apiserver-certs', 'admin-kubeconfig', 'super-admin-kubeconfig', 'kubeconfig', 'controller-manager-kubeconfig', 'scheduler-kubeconfig', 'konnectivity-server-kubeconfig'],
  'front-proxy-ca': ['apiserver-certs'],
  'etcd-ca': ['apiserver-certs', 'etcd-certs'],
  // Tokens signed with sa.key exist once an apiserver has run with it.
  sa: ['apiserver-certs'],
};

const ROOT_LABELS: Record<RootId, string> = {
  ca: 'cluster CA',
  'front-proxy-ca': 'front-proxy CA',
  'etcd-ca': 'etcd CA',
  sa: 'service-account key',
};

const ROOT_SECRET_ROLE: Record<RootId, PkiSecretRole> = { ca: 'ca', 'front-proxy-ca': 'front-proxy-ca', 'etcd-ca': 'etcd-ca', sa: 'sa' };

const days = (ms: number): number => Math.round(ms / DAY_MS);

/** Problems that make an existing CA unusable (empty = usable). */
function caProblems(ca: CertAndKey, now: Date): string[] {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(ca.certPem);
  } catch (error) {
    return [`ca.crt is not a readable certificate: ${(error as Error).message}`];
  }
  try {
    key = parsePrivateKey(ca.keyPem, 'ca.key');
  } catch (error) {
    return [(error as Error).message];
  }
  const problems: string[] = [];
  if (!cert.checkPrivateKey(key)) problems.push('ca.key does not match ca.crt');
  if (!cert.ca) problems.push('ca.crt is not a CA certificate (basicConstraints CA:false)');
  if (cert.validToDate <= now) problems.push(`ca.crt expired on ${cert.validToDate.toISOString()}`);
  return problems;
}

function setDiff(actual: readonly string[], desired: readonly string[]): { missing: string[]; extra: string[] } {
  return {
    missing: desired.filter((x) => !actual.includes(x)),
    extra: actual.filter((x) => !desired.includes(x)),
  };
}

function describeDiff(what: string, actual: readonly string[], desired: readonly string[]): string | undefined {
  const { missing, extra } = setDiff(actual, desired);
  if (missing.length === 0 && extra.length === 0) return undefined;
  const parts = [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : ''];
  return `${what} differ: ${parts.filter(Boolean).join('; ')}`;
}

/**
 * Why an existing certificate must be re-issued (empty = keep it). `ca` is the current CA certificate.
 */
export function certificateReasons(
  existing: CertAndKey,
  spec: CertificateSpec,
  ca: X509Certificate,
  keyAlgorithm: KeyAlgorithm,
  now: Date,
  renewBeforeMs: number,
): string[] {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(existing.certPem);
  } catch (error) {
    return [`certificate unreadable: ${(error as Error).message}`];
  }
  try {
    key = parsePrivateKey(existing.keyPem);
  } catch (error) {
    return [(error as Error).message];
  }
  if (!cert.checkPrivateKey(key)) return ['private key does not match the certificate'];

  const reasons: string[] = [];
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) reasons.push(`not signed by the current ${spec.issuer} CA`);
  const remaining = cert.validToDate.getTime() - now.getTime();
  // A certificate that already ends with its CA cannot be extended by re-issuing (it would be
  // re-issued on every pass); the CA's own expiry warning covers it.
  const endsWithCa = cert.validToDate.getTime() >= ca.validToDate.getTime();
  if (remaining < renewBeforeMs && !(endsWithCa && remaining > 0)) {
    reasons.push(
      remaining <= 0
        ? `expired on ${cert.validToDate.toISOString()}`
        : `expires on ${cert.validToDate.toISOString()}, within the ${days(renewBeforeMs)}-day renewal window`,
    );
  }
  const actualAlgorithm = keyAlgorithmOf(key);
  if (actualAlgorithm !== keyAlgorithm) reasons.push(`key is ${actualAlgorithm ?? describeKey(key)}, desired ${keyAlgorithm}`);

  let facts;
  try {
    facts = inspectCertificate(cert.raw);
  } catch (error) {
    return [...reasons, `certificate structure unreadable: ${(error as Error).message}`];
  }
  const { request } = spec;
  if (facts.commonName !== request.commonName) {
    reasons.push(`subject CN is "${facts.commonName ?? ''}", desired "${request.commonName}"`);
  }
  const checks = [
    describeDiff('subject O values', facts.organizations, request.organizations),
    describeDiff('DNS SANs', facts.dnsNames.map((d) => d.toLowerCase()), request.dnsNames),
    describeDiff('IP SANs', facts.ipAddresses, request.ipAddresses.map((ip) => canonicalIp(ip) ?? ip)),
    describeDiff('extended key usages', facts.extKeyUsages, request.extKeyUsages),
    describeDiff(
      'key usages',
      facts.keyUsages,
      (key.asymmetricKeyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']) satisfies KeyUsage[],
    ),
  ];
  reasons.push(...checks.filter((c): c is string => c !== undefined));
  if (facts.isCA) reasons.push('certificate is a CA, desired a leaf');
  return reasons;
}

/** Decides per item what to keep and what to issue; pure apart from reading the clock default. */
export function decidePki(read: ReadPkiResult, input: TenantPkiInput, options: PlanOptions = {}): PkiDecisions {
  const now = options.now ?? new Date();
  const renewBeforeMs = options.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS;
  const caWarnBeforeMs = options.caWarnBeforeMs ?? DEFAULT_CA_WARN_BEFORE_MS;
  const keyAlgorithm = input.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
  const specs = tenantCertificateSpecs(input);
  const existing = read.material;
  const items: ItemDecision[] = [];
  const alarms: PkiAlarm[] = [];
  const warnings = [...read.problems];
  for (const { name, tenant } of read.foreign) {
    alarms.push({ secret: name, reason: `Secret ${name} belongs to tenant "${tenant}" (label kubeception.io/tenant); refusing to overwrite it` });
  }
  const keptCas: Partial<Record<CaId, CertAndKey>> = {};
  const keptCerts: Partial<Record<CertId, CertAndKey>> = {};
  let keptSaKey: string | undefined;
  const secretName = (role: PkiSecretRole): string => pkiSecretName(input.name, role);

  const missingRoot = (root: RootId): void => {
    const dependents = ROOT_DEPENDENTS[root].filter((role) => read.secrets[role] !== undefined);
    const blockers = [
      ...(dependents.length > 0 ? [`Secrets signed with it exist (${dependents.map(secretName).join(', ')})`] : []),
      ...(options.tenantRunning ? ['the tenant control plane is running'] : []),
    ];
    if (blockers.length > 0 && !options.regenerateMissingRoots) {
      alarms.push({
        root,
        secret: secretName(ROOT_SECRET_ROLE[root]),
        reason: `${ROOT_LABELS[root]} (Secret ${secretName(ROOT_SECRET_ROLE[root])}) is missing but ${blockers.join(' and ')}; refusing to create a new one`,
      });
      return;
    }
    items.push({ id: root, action: 'issue', reasons: [blockers.length > 0 ? 'missing; re-created as explicitly requested' : 'missing'] });
  };

  // Roots: keep, create when nothing depends on them, or raise an alarm.
  const caCerts: Partial<Record<CaId, X509Certificate>> = {};
  for (const id of CA_IDS) {
    const ca = existing.cas?.[id];
    if (!ca) {
      // A Secret with half a CA is unusable, not missing.
      if (read.secrets[id]) {
        alarms.push({ root: id, secret: secretName(id), reason: `${ROOT_LABELS[id]} Secret ${secretName(id)} is incomplete (needs ca.crt and ca.key)` });
      } else {
        missingRoot(id);
      }
      continue;
    }
    const problems = caProblems(ca, now);
    if (problems.length > 0) {
      alarms.push({ root: id, secret: secretName(id), reason: `${ROOT_LABELS[id]} in Secret ${secretName(id)} is unusable: ${problems.join('; ')}` });
      continue;
    }
    const cert = new X509Certificate(ca.certPem);
    caCerts[id] = cert;
    keptCas[id] = ca;
    items.push({ id, action: 'keep', reasons: [] });
    if (cert.validToDate.getTime() - now.getTime() < caWarnBeforeMs) {
      warnings.push(`${ROOT_LABELS[id]} expires on ${cert.validToDate.toISOString()}; CA rotation is an explicit, staged operation`);
    }
  }
  if (existing.serviceAccountKeyPem === undefined) {
    if (read.secrets.sa) alarms.push({ root: 'sa', secret: secretName('sa'), reason: 'service-account Secret has no sa.key' });
    else missingRoot('sa');
  } else {
    try {
      const key = parsePrivateKey(existing.serviceAccountKeyPem, 'sa.key');
      if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') throw new Error(`sa.key is ${describeKey(key)}, not RSA or ECDSA`);
      keptSaKey = existing.serviceAccountKeyPem;
      items.push({ id: 'sa', action: 'keep', reasons: [] });
    } catch (error) {
      alarms.push({ root: 'sa', secret: secretName('sa'), reason: `service-account key is unusable: ${(error as Error).message}` });
    }
  }

  // Certificates signed by the roots.
  for (const id of CERT_IDS) {
    const spec = specs[id];
    const current = existing.certs?.[id];
    const ca = caCerts[spec.issuer];
    let reasons: string[];
    if (!current) reasons = ['missing'];
    else if (!ca) reasons = [`its ${spec.issuer} CA is being created`];
    else reasons = certificateReasons(current, spec, ca, keyAlgorithm, now, renewBeforeMs);
    if (reasons.length === 0 && current) {
      keptCerts[id] = current;
      items.push({ id, action: 'keep', reasons: [] });
    } else {
      items.push({ id, action: 'issue', reasons });
    }
  }
  const keep: PartialPkiMaterial = { cas: keptCas, certs: keptCerts };
  if (keptSaKey !== undefined) keep.serviceAccountKeyPem = keptSaKey;
  return { items, alarms, warnings, keep };
}

export interface SecretChange {
  role: PkiSecretRole;
  name: string;
  action: 'create' | 'replace';
  reasons: string[];
  /** The complete desired Secret, to apply (server-side apply) in the order given. */
  secret: PkiSecret;
}

export type PkiPlan =
  | {
      status: 'alarm';
      alarms: PkiAlarm[];
      warnings: string[];
      decisions: ItemDecision[];
    }
  | {
      status: 'ok';
      /** Secrets to create or replace, roots first; apply in order and stop at the first failure. */
      changes: SecretChange[];
      /** Names of Secrets that already are as desired (left byte-identical). */
      unchanged: string[];
      warnings: string[];
      decisions: ItemDecision[];
      /** The tenant's complete PKI after the changes. */
      material: PkiMaterial;
      /** Every PKI Secret as desired (unchanged ones with their existing data), apply order. */
      secrets: PkiSecret[];
    };

/** The items a Secret holds (copies of CA certificates in leaf Secrets are not theirs). */
function sourceItems(layout: PkiSecretLayout): ItemId[] {
  const ids = Object.values(layout.entries).flatMap((source) => {
    switch (source.kind) {
      case 'ca-cert':
        return layout.role === source.ca ? [source.ca] : [];
      case 'ca-key':
        return source.ca;
      case 'sa-key':
      case 'sa-pub':
        return 'sa';
      default:
        return source.id;
    }
  });
  return [...new Set(ids)];
}

/** Why an existing Secret differs from the rendered one, beyond re-issued items (empty = same). */
function secretDifferences(
  existing: ISecret,
  desired: PkiSecret,
  layout: PkiSecretLayout,
  issued: ReadonlySet<ItemId>,
  owner: OwnerReference | undefined,
): string[] {
  const reasons: string[] = [];
  for (const [key, source] of Object.entries(layout.entries)) {
    const item = source.kind === 'cert' || source.kind === 'key' ? source.id : undefined;
    const changedAnyway = item !== undefined && issued.has(item); // already explained by the item's reasons
    const before = existing.data?.[key] !== undefined ? Buffer.from(existing.data[key] ?? '', 'base64') : undefined;
    const after = Buffer.from(desired.data[key] ?? '', 'base64');
    if (before === undefined) {
      reasons.push(`${key} is missing`);
    } else if (!before.equals(after) && !changedAnyway) {
      if (source.kind === 'kubeconfig') {
        let previous: string | undefined;
        try {
          previous = parseKubeconfig(before.toString('utf8')).server;
        } catch {
          previous = undefined;
        }
        const next = parseKubeconfig(after.toString('utf8')).server;
        reasons.push(previous !== undefined && previous !== next ? `${key}: server ${previous} -> ${next}` : `${key} content is out of date`);
      } else if (source.kind === 'sa-pub') {
        reasons.push('sa.pub does not match sa.key');
      } else if (source.kind === 'ca-cert' && layout.role !== source.ca) {
        reasons.push(`${key} is not the current ${source.ca} CA certificate`);
      } else {
        reasons.push(`${key} is out of date`);
      }
    }
  }
  const labels = existing.metadata?.labels ?? {};
  for (const [label, value] of Object.entries(desired.metadata.labels)) {
    if (labels[label] !== value) reasons.push(`label ${label} is not ${value}`);
  }
  const fingerprint = existing.metadata?.annotations?.[FINGERPRINT_ANNOTATION];
  if (fingerprint !== desired.metadata.annotations[FINGERPRINT_ANNOTATION]) {
    reasons.push(fingerprint === undefined ? `annotation ${FINGERPRINT_ANNOTATION} is missing` : `annotation ${FINGERPRINT_ANNOTATION} is out of date`);
  }
  if (owner && !(existing.metadata?.ownerReferences ?? []).some((ref) => ref.uid === owner.uid)) {
    reasons.push(`not owned by ${owner.kind} ${owner.name}`);
  }
  return reasons;
}

/**
 * Plans the tenant's PKI Secrets: reads what exists, decides (see the rules at the top), issues what
 * is needed in one concurrent batch of key generations, and returns the Secrets to create or replace.
 * `existingSecrets` may contain unrelated Secrets; they are ignored.
 */
export async function planPki(existingSecrets: readonly ISecret[], input: TenantPkiInput, options: PlanOptions = {}): Promise<PkiPlan> {
  const now = options.now ?? new Date();
  const read = readPkiSecrets(input.name, existingSecrets);
  const decided = decidePki(read, input, { ...options, now });
  if (decided.alarms.length > 0) {
    return { status: 'alarm', alarms: decided.alarms, warnings: decided.warnings, decisions: decided.items };
  }
  const material = await generateTenantPki(input, decided.keep, { ...options, now });
  const rendered = renderPkiSecrets(input, material, { owner: options.owner });
  const issued = new Map(decided.items.filter((d) => d.action === 'issue').map((d) => [d.id, d.reasons]));

  const changes: SecretChange[] = [];
  const unchanged: string[] = [];
  const secrets: PkiSecret[] = [];
  for (const [index, layout] of PKI_SECRET_LAYOUT.entries()) {
    const desired = rendered[index] as PkiSecret;
    const existing = read.secrets[layout.role];
    const itemReasons = sourceItems(layout)
      .filter((id) => issued.has(id))
      .map((id) => `${id}: issued (${(issued.get(id) ?? []).join('; ')})`);
    if (!existing) {
      changes.push({ role: layout.role, name: desired.metadata.name, action: 'create', reasons: ['Secret does not exist', ...itemReasons], secret: desired });
      secrets.push(desired);
      continue;
    }
    const differences = secretDifferences(existing, desired, layout, new Set(issued.keys()), options.owner);
    if (differences.length === 0 && itemReasons.length === 0) {
      unchanged.push(desired.metadata.name);
    } else {
      changes.push({ role: layout.role, name: desired.metadata.name, action: 'replace', reasons: [...itemReasons, ...differences], secret: desired });
    }
    if (existing.type !== undefined && existing.type !== 'Opaque') {
      decided.warnings.push(`Secret ${desired.metadata.name} has type ${existing.type}; the type is immutable, delete it to let it be re-created as Opaque`);
    }
    secrets.push(desired);
  }
  return { status: 'ok', changes, unchanged, warnings: decided.warnings, decisions: decided.items, material, secrets };
}
