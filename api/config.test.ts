import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig as parseWith, parseTrustProxy, USAGE } from './config.ts';

/** The settings tests below are about something else than the transport: they serve plain HTTP, as asked. */
const parseConfig = (argv: string[], env: NodeJS.ProcessEnv) => parseWith(['--insecure-http', ...argv], env);
const TLS_FLAGS = ['--tls-cert-file', '/tls/tls.crt', '--tls-key-file', '/tls/tls.key'];

test('defaults: port 8080, state in kubeception-system, one namespace per cluster', () => {
  const config = parseConfig([], {});
  assert.equal(config.port, 8080);
  assert.equal(config.namespace, 'kubeception-system');
  assert.deepEqual(config.layout, { kind: 'per-cluster', prefix: 'kc-' });
  assert.deepEqual(config.rateLimit, { capacity: 100, refillPerSecond: 20 });
  assert.equal(config.kubeconfig, undefined);
});

test('flags win over the environment', () => {
  const config = parseConfig(['--port', '9000', '--cluster-namespace', 'tenants', '--rate-limit-burst', '5'], {
    API_PORT: '1234',
    KUBECEPTION_API_NAMESPACE: 'api-state',
    KUBECONFIG: '/k',
  });
  assert.equal(config.port, 9000);
  assert.equal(config.namespace, 'api-state');
  assert.deepEqual(config.layout, { kind: 'shared', namespace: 'tenants' });
  assert.equal(config.rateLimit.capacity, 5);
  assert.equal(config.kubeconfig, '/k');
});

test('default quotas come from flags; 0 forbids, negatives and fractions are refused', () => {
  assert.deepEqual(parseConfig([], {}).defaultLimits, { maxClusters: 20, maxJoinTokensPerCluster: 10, maxKubeconfigsPerHour: 60 });
  const config = parseConfig(['--max-clusters-per-account', '3', '--max-join-tokens-per-cluster=0', '--max-kubeconfigs-per-hour', '500'], {});
  assert.deepEqual(config.defaultLimits, { maxClusters: 3, maxJoinTokensPerCluster: 0, maxKubeconfigsPerHour: 500 });
  assert.equal(parseConfig([], { API_MAX_KUBECONFIGS_PER_HOUR: '7' }).defaultLimits.maxKubeconfigsPerHour, 7, 'from the environment (the chart)');
  assert.equal(parseConfig(['--max-kubeconfigs-per-hour', '8'], { API_MAX_KUBECONFIGS_PER_HOUR: '7' }).defaultLimits.maxKubeconfigsPerHour, 8, 'flags win');
  assert.throws(() => parseConfig(['--max-clusters-per-account=-1'], {}), /--max-clusters-per-account must be a whole number >= 0/);
  assert.throws(() => parseConfig(['--max-kubeconfigs-per-hour', '1.5'], {}), /--max-kubeconfigs-per-hour must be a whole number >= 0/);
});

test('bad settings are refused with a message naming the flag', () => {
  assert.throws(() => parseConfig(['--port', '70000'], {}), /--port must be 1..65535/);
  assert.throws(() => parseConfig(['--rate-limit-per-second=0'], {}), /--rate-limit-per-second must be a positive number/);
  assert.throws(() => parseConfig(['--prot', '1'], {}), /Unknown option '--prot'/);
  assert.throws(() => parseConfig(['--help'], {}), (error: Error) => error.message === USAGE);
});

test('TLS is the default: without the files the start fails saying what to give; plain HTTP only when asked', () => {
  assert.throws(() => parseWith([], {}), /the API serves HTTPS: give --tls-cert-file and --tls-key-file \(API_TLS_CERT_FILE, API_TLS_KEY_FILE\), or --insecure-http/);
  const https = parseWith(TLS_FLAGS, {});
  assert.deepEqual(https.tls, { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
  assert.equal(https.insecureHttp, false);
  assert.deepEqual(parseWith([], { API_TLS_CERT_FILE: '/e/c', API_TLS_KEY_FILE: '/e/k' }).tls, { certFile: '/e/c', keyFile: '/e/k' });
  assert.deepEqual(parseWith(['--tls-key-file', '/f/k'], { API_TLS_CERT_FILE: '/e/c', API_TLS_KEY_FILE: '/e/k' }).tls, { certFile: '/e/c', keyFile: '/f/k' });
  assert.throws(() => parseWith(['--tls-cert-file', '/tls/tls.crt'], {}), /--tls-cert-file \(API_TLS_CERT_FILE\) is set but --tls-key-file \(API_TLS_KEY_FILE\) is not/);
  assert.throws(() => parseWith([], { API_TLS_KEY_FILE: '/k' }), /--tls-key-file \(API_TLS_KEY_FILE\) is set but --tls-cert-file/);

  const plain = parseWith(['--insecure-http'], {});
  assert.equal(plain.tls, undefined);
  assert.equal(plain.insecureHttp, true);
  assert.equal(parseWith([], { API_INSECURE_HTTP: 'true' }).insecureHttp, true);
  assert.throws(() => parseWith([], { API_INSECURE_HTTP: 'false' }), /serves HTTPS/, 'only a true value asks for plain HTTP');
  assert.throws(() => parseWith(['--insecure-http', ...TLS_FLAGS], {}), /--insecure-http \(API_INSECURE_HTTP\) and --tls-cert-file\/--tls-key-file contradict each other/);
});

test('--trust-proxy takes the addresses or CIDRs of the proxies; "trust everyone" is refused saying what to pass', () => {
  assert.deepEqual(parseConfig([], {}).trustProxy, [], 'default: no proxy is trusted');
  assert.deepEqual(parseConfig(['--trust-proxy', '10.0.0.0/8, 192.168.1.5,fd00::/8,loopback'], {}).trustProxy, ['10.0.0.0/8', '192.168.1.5', 'fd00::/8', 'loopback']);
  assert.deepEqual(parseConfig([], { API_TRUST_PROXY: '172.16.0.1' }).trustProxy, ['172.16.0.1']);
  assert.deepEqual(parseTrustProxy(''), []);
  const help = /give the addresses or CIDRs of the proxies in front of the API, comma-separated \(e\.g\. --trust-proxy 10\.0\.0\.0\/8,192\.168\.1\.5/;
  assert.throws(() => parseConfig(['--trust-proxy'], {}), (error: Error) => /^--trust-proxy needs a value: /.test(error.message) && help.test(error.message), 'the old boolean flag');
  assert.throws(() => parseConfig(['--trust-proxy', '--port', '9000'], {}), /--trust-proxy needs a value/);
  for (const all of ['true', 'TRUE', 'all', '*', '1']) {
    assert.throws(() => parseConfig(['--trust-proxy', all], {}), (error: Error) => error.message.includes('trusting every X-Forwarded-For lets any client choose its address') && help.test(error.message), all);
  }
  assert.throws(() => parseTrustProxy('0.0.0.0/0'), /0\.0\.0\.0\/0 trusts every address/);
  assert.throws(() => parseTrustProxy('::/0'), /trusts every address/);
  assert.throws(() => parseTrustProxy('10.0.0.0/33'), /"10\.0\.0\.0\/33" has an invalid prefix length/);
  assert.throws(() => parseTrustProxy('ingress.local'), /"ingress\.local" is not an address or CIDR/);
  assert.throws(() => parseTrustProxy('10.0.0.1/8/9'), /is not an address or CIDR/);
});

test('default service type: unset leaves the CRD default; one of the three; anything else refused', () => {
  assert.equal(parseConfig([], {}).defaultServiceType, 'LoadBalancer', 'reachable from outside the host by default');
  assert.equal(parseConfig(['--default-service-type', 'ClusterIP'], {}).defaultServiceType, 'ClusterIP');
  assert.equal(parseConfig(['--default-service-type', 'LoadBalancer'], {}).defaultServiceType, 'LoadBalancer');
  assert.equal(parseConfig([], { DEFAULT_SERVICE_TYPE: 'NodePort' }).defaultServiceType, 'NodePort');
  assert.equal(parseConfig([], { DEFAULT_SERVICE_TYPE: '' }).defaultServiceType, 'LoadBalancer');
  assert.throws(() => parseConfig(['--default-service-type', 'nodeport'], {}), /--default-service-type \(DEFAULT_SERVICE_TYPE\) must be one of ClusterIP, NodePort, LoadBalancer, got "nodeport"/);
});
