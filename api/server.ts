// Starts the API against the host cluster: `node api/server.ts --help`.
import { buildApp } from './app.ts';
import { parseConfig, USAGE } from './config.ts';
import { hostDependencies } from './host/index.ts';
import { loadHostKubeConfig } from './host/kube.ts';
import { METERING_LEASE } from './metering.ts';
import { PeriodicTasks } from './periodic-tasks.ts';
import { readTlsMaterial, reloadServerTls } from './tls.ts';
import type { Server as HttpsServer } from 'node:https';
import { createLogger, LeaderElector, productVersion } from '../core/index.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    const message = (error as Error).message;
    process.stderr.write(`${message === USAGE ? '' : `${message}\n\n`}${USAGE}\n`);
    process.exit(message === USAGE ? 0 : 2);
  }
  const logger = createLogger('kubeception-api', config.logLevel);
  if (config.insecureHttp) {
    logger.warn({ flag: '--insecure-http' }, 'serving plain HTTP: API keys cross the network in clear text unless a proxy in front of the API terminates TLS');
  }
  // Read before anything else: a missing or mismatched pair stops the start with the files named.
  let tls;
  try {
    tls = config.tls === undefined ? undefined : await readTlsMaterial(config.tls);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const deps = hostDependencies({
    kubeConfig: loadHostKubeConfig(config.kubeconfig),
    namespace: config.namespace,
    layout: config.layout,
    defaultLimits: config.defaultLimits,
    logger,
  });
  await deps.start();
  const app = await buildApp({
    ...deps,
    rateLimit: config.rateLimit,
    trustProxy: config.trustProxy,
    ...(tls === undefined ? {} : { https: tls }),
    defaultServiceType: config.defaultServiceType,
  });
  // With TLS, fastify's server is a node:https Server, whose setSecureContext swaps the pair for new connections.
  const reloader = config.tls === undefined || tls === undefined ? undefined : reloadServerTls(app.server as unknown as HttpsServer, config.tls, tls, logger);
  // One replica meters: the holder of this Lease. Passes stay exact without it (watermarks and
  // compare-and-swap writes), the election only keeps the other replicas from doing the same work.
  const meteringLeader = new LeaderElector({
    client: deps.client,
    namespace: config.namespace,
    name: METERING_LEASE,
    logger,
    onStartedLeading: () => {},
  });
  const periodic = new PeriodicTasks({
    intervalMs: config.meteringIntervalSeconds * 1000,
    log: logger,
    tasks: [
      { name: 'metering', run: async () => (meteringLeader.isLeader ? app.meter.tick() : `standing by (${meteringLeader.leader || 'no leader yet'} meters)`) },
      { name: 'expire-idempotency-keys', run: () => deps.idempotency.expire(new Date()) },
      { name: 'collect-orphan-namespaces', run: () => deps.clusters.collectGarbage() },
    ],
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await periodic.stop();
    await meteringLeader.stop();
    await reloader?.stop();
    await app.close();
    await deps.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  logger.info(
    { version: productVersion, namespace: config.namespace, layout: config.layout, https: tls !== undefined, trustProxy: config.trustProxy, defaultServiceType: config.defaultServiceType },
    'kubeception API ready',
  );
  void meteringLeader.run();
  periodic.start();
  reloader?.start();
}

await main();
