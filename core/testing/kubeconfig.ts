// A kubeconfig YAML with a bearer token, for tests of what reads kubeconfigs (no TLS material needed).
export function tokenKubeconfig(server: string, token = 'fake'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: demo\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
    'users:',
    `- name: kubernetes-super-admin\n  user:\n    token: ${token}`,
    'contexts:',
    '- name: demo\n  context:\n    cluster: demo\n    user: kubernetes-super-admin',
    'current-context: demo',
    '',
  ].join('\n');
}
