// A hostPath volume provisioner for the single-node test bed (a host cluster has a real one: a cloud
// disk driver, local-path-provisioner, ...). It binds every Pending claim of its StorageClass to a new
// folder under its volumes folder and deletes the folder when the claim is gone.
//   node e2e/testbed/local-provisioner.ts <kubeconfig> <volumes dir> <storage class>
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type V1PersistentVolume, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { log } from './log.ts';

const PROVISIONER = 'kubeception.io/testbed-hostpath';

function volumeFor(claim: V1PersistentVolumeClaim, dir: string, storageClass: string): V1PersistentVolume {
  const name = `pvc-${claim.metadata!.uid}`;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: storageClass,
      hostPath: { path: join(dir, name), type: 'DirectoryOrCreate' },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata!.namespace, name: claim.metadata!.name, uid: claim.metadata!.uid },
    },
  };
}

async function provisionOnce(api: CoreV1Api, dir: string, storageClass: string): Promise<void> {
  const claims = await api.listPersistentVolumeClaimForAllNamespaces();
  for (const claim of claims.items) {
    const wanted = (claim.spec?.storageClassName ?? storageClass) === storageClass;
    if (!wanted || claim.status?.phase !== 'Pending' || claim.spec?.volumeName) continue;
    const pv = volumeFor(claim, dir, storageClass);
    // world-writable: control-plane pods run as non-root users and hostPath gets no fsGroup
    await mkdir(join(dir, pv.metadata!.name!), { recursive: true });
    await chmod(join(dir, pv.metadata!.name!), 0o777); // mkdir's mode is cut by the umask
    try {
      await api.createPersistentVolume({ body: pv });
      log.info({ claim: `${claim.metadata!.namespace}/${claim.metadata!.name}`, volume: pv.metadata!.name }, 'provisioned');
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  const volumes = await api.listPersistentVolume();
  for (const pv of volumes.items) {
    if (pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) continue;
    if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') continue;
    await rm(join(dir, pv.metadata!.name!), { recursive: true, force: true });
    await api.deletePersistentVolume({ name: pv.metadata!.name! }).catch(() => undefined);
    log.info({ volume: pv.metadata!.name }, 'deleted released volume');
  }
}

async function main(): Promise<void> {
  const [kubeconfig, dir, storageClass] = process.argv.slice(2);
  if (!kubeconfig || !dir || !storageClass) throw new Error('usage: local-provisioner.ts <kubeconfig> <volumes dir> <storage class>');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  process.on('SIGINT', () => (stopping = true));
  while (!stopping) {
    await provisionOnce(api, dir, storageClass).catch((err: unknown) => log.warn({ err: String(err) }, 'provisioning pass failed'));
    await sleep(1000);
  }
}

await main();
