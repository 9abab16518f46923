// The real flannel binaries (the test bed's build, ~/.cache/kubeception/flannel and flannel-cni-plugin) accept
// what the CNI add-on renders: every chained plugin of cni-conf.json (the flannel plugin built here, and the
// node's bridge and portmap it delegates to: Debian's, as the test bed's worker machines have them in
// /opt/cni/bin) speaks its cniVersion, and flanneld parses the DaemonSet's flags and reports its version.
// Skipped when the binaries are not built (`bash e2e/build/build-kubernetes.sh flannel`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testbedConfig as c } from './testbed/config.ts';
import { flannelCniConf, renderFlannel, resolveInput } from '../operator/tenant/index.ts';
import { sampleInput } from '../operator/tenant/testing.ts';

const plugin = join(c.bin.flannelCNIPlugin, 'flannel');
const flanneld = join(c.bin.flannel, 'flanneld');
const built = existsSync(plugin) && existsSync(flanneld);

/** A CNI plugin's answer to the VERSION command (CNI spec: the versions it speaks). */
function supportedVersions(binary: string): string[] {
  const out = execFileSync(binary, [], { input: '{}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
  return (JSON.parse(out) as { supportedVersions: string[] }).supportedVersions;
}

test('every plugin of the rendered cni-conf.json speaks its cniVersion (skipped without the build)', { skip: !built && 'flannel binaries not built' }, () => {
  const conf = flannelCniConf() as { cniVersion: string; plugins: { type: string }[] };
  const binaries: Record<string, string> = { flannel: plugin, bridge: join(c.bin.cni, 'bridge'), 'host-local': join(c.bin.cni, 'host-local'), portmap: join(c.bin.cni, 'portmap') };
  // flannel delegates to bridge with host-local addresses; portmap is chained after it.
  for (const type of [...conf.plugins.map((p) => p.type), 'bridge', 'host-local']) {
    assert.ok(supportedVersions(binaries[type]!).includes(conf.cniVersion), `${type} speaks CNI ${conf.cniVersion}`);
  }
  assert.ok(!supportedVersions(plugin).includes('1.0.0'), 'upstream\'s 1.0.0 would be refused by this flannel plugin');
});

test('flanneld knows every flag the DaemonSet passes and reports the built version (skipped without the build)', { skip: !built && 'flannel binaries not built' }, async () => {
  const ds = renderFlannel(resolveInput(await sampleInput())).find((o) => o.object.kind === 'DaemonSet')!.object as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  // Go's flag package prints the usage on stderr.
  const help = spawnSync(flanneld, ['--help'], { encoding: 'utf8' }).stderr;
  for (const arg of ds.spec.template.spec.containers[0]!.args) {
    const flag = arg.replace(/=.*$/, '').replace(/^--/, '');
    assert.match(help, new RegExp(`-${flag}\\b`), `flanneld has ${arg}`);
  }
  assert.equal(spawnSync(flanneld, ['--version'], { encoding: 'utf8' }).stderr.trim(), c.versions.flannel, 'the version stamped at build (printed on stderr)');
});
