// The chart files generated from the code, without helm: the CRD template and the contract helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { renderContractHelpers, renderCrdTemplate } from './generate.ts';
import { GENERATED_FILES as CRD_FILES } from '../crds/generate.ts';
import { CREATED_BY_API, CRD_NAME, LABELS } from '../core/contract.ts';

const crdYaml = readFileSync(CRD_FILES.crd, 'utf8');

test('the CRD template carries the generated spec unchanged, behind crds.install, kept by crds.keep', () => {
  const template = renderCrdTemplate(crdYaml);
  const lines = template.split('\n');
  assert.match(lines[1]!, /^\{\{- if \.Values\.crds\.install \}\}$/);
  assert.ok(template.includes('  {{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n  {{- end }}\n'));
  // the part after the template's metadata is plain YAML: the spec of the generated CRD
  const specStart = lines.indexOf('spec:');
  const spec = parse(lines.slice(specStart, -2).join('\n')) as { spec: unknown };
  assert.deepEqual(spec.spec, (parse(crdYaml) as { spec: unknown }).spec);
  assert.equal(lines.at(-2), '{{- end }}');
});

test('the CRD template refuses what helm would misread or what is not the CRD', () => {
  assert.throws(() => renderCrdTemplate(crdYaml.replace('    kind: TenantControlPlane', '    kind: "Tenant{{ .x }}"')), /would read as a template action/);
  assert.throws(() => renderCrdTemplate('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n'), new RegExp(`expected the CustomResourceDefinition ${CRD_NAME}`));
});

test('the contract helpers hold the label the API puts on its namespaces', () => {
  const helpers = renderContractHelpers();
  assert.ok(helpers.includes(`{{- define "kubeception.contract.createdByLabel" -}}${LABELS.createdBy}{{- end -}}`));
  assert.ok(helpers.includes(`{{- define "kubeception.contract.createdByApi" -}}${CREATED_BY_API}{{- end -}}`));
});
