// Starts the API against the host cluster: `node api/server.ts --help`.
import { buildApp } from './app.ts';
import { parseConfig, USAGE } from './config.ts';
import { hostDependencies } from './host/index.ts';
import { loadHostKubeConfig } from './host/kube.ts';
import { PeriodicTasks } from './metering.ts';
import { createLogger, productVersion } from '../core/index.ts';

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
  const deps = hostDependencies({
    kubeConfig: loadHostKubeConfig(config.kubeconfig),
    namespace: config.namespace,
    layout: config.layout,
    logger,
  });
  await deps.start();
  const app = await buildApp({ ...deps, rateLimit: config.rateLimit, trustProxy: config.trustProxy });
  const periodic = new PeriodicTasks({
    intervalMs: config.meteringIntervalSeconds * 1000,
    log: logger,
    tasks: [
      { name: 'metering', run: () => app.meter.tick() },
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
    await app.close();
    await deps.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  logger.info({ version: productVersion, namespace: config.namespace, layout: config.layout }, 'kubeception API ready');
  periodic.start();
}

await main();
