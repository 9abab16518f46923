import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PROTECTED_FLAGS, RENDERER_PROTECTED_FLAGS, argsToFlags, flagsToArgs, isProtectedFlag, mergeFlags } from './flags.ts';

const defaults = () =>
  new Map([
    ['profiling', 'false'],
    ['kubelet-preferred-address-types', 'InternalIP,ExternalIP,Hostname'],
    ['enable-admission-plugins', 'NodeRestriction'],
  ]);

test('a user flag overriding an unprotected default keeps its position; new flags follow sorted', () => {
  const { flags, warnings } = mergeFlags('apiServer', defaults(), {
    'v': '2',
    'kubelet-preferred-address-types': 'Hostname',
    'feature-gates': 'A=true',
  });
  assert.deepEqual([...flags.keys()], ['profiling', 'kubelet-preferred-address-types', 'enable-admission-plugins', 'feature-gates', 'v']);
  assert.equal(flags.get('kubelet-preferred-address-types'), 'Hostname');
  assert.deepEqual(warnings, []);
});

test('protected flags are dropped, also when written with leading dashes or via a protected prefix', () => {
  const { flags, warnings } = mergeFlags('apiServer', defaults(), {
    '--profiling': 'true',
    'etcd-prefix': '/other',
    'oidc-issuer-url': 'https://idp',
    'token-auth-file': '/tmp/tokens.csv',
  });
  assert.equal(flags.get('profiling'), 'false');
  assert.equal(flags.has('etcd-prefix'), false);
  assert.equal(flags.has('oidc-issuer-url'), false);
  assert.equal(flags.has('token-auth-file'), false);
  assert.deepEqual(warnings.map((w) => w.flag).sort(), ['etcd-prefix', 'oidc-issuer-url', 'profiling', 'token-auth-file']);
});

test('NodeRestriction cannot be removed: both admission plugin flags are protected', () => {
  const { flags, warnings } = mergeFlags('apiServer', defaults(), {
    'enable-admission-plugins': 'AlwaysPullImages',
    'disable-admission-plugins': 'NodeRestriction',
  });
  assert.equal(flags.get('enable-admission-plugins'), 'NodeRestriction');
  assert.equal(flags.has('disable-admission-plugins'), false);
  assert.equal(warnings.length, 2);
});

test('the renderer refuses at least everything the CRD refuses, plus its own additions', () => {
  for (const component of ['apiServer', 'controllerManager', 'scheduler'] as const) {
    for (const name of [...PROTECTED_FLAGS[component].names, ...RENDERER_PROTECTED_FLAGS[component].names]) {
      assert.equal(isProtectedFlag(component, name), true, `${component} ${name}`);
    }
    for (const prefix of [...PROTECTED_FLAGS[component].prefixes, ...RENDERER_PROTECTED_FLAGS[component].prefixes]) {
      assert.equal(isProtectedFlag(component, `${prefix}anything`), true, `${component} ${prefix}*`);
    }
  }
  // oidc-* conflicts with --authentication-config; the apiserver would not start.
  assert.equal(isProtectedFlag('apiServer', 'oidc-issuer-url'), true);
});

test('bad flag names and values are clear errors', () => {
  assert.throws(() => mergeFlags('scheduler', new Map(), { 'v=3': '1' }), /not a flag name/);
  assert.throws(() => mergeFlags('scheduler', new Map(), { 'Bad Name': '1' }), /not a flag name/);
  assert.throws(() => mergeFlags('scheduler', new Map(), { v: { deep: 1 } }), /value must be a string/);
  assert.throws(() => mergeFlags('scheduler', new Map(), [] as unknown as Record<string, string>), /must be an object/);
});

test('no user input can change a protected flag of any component (property)', () => {
  const components = ['apiServer', 'controllerManager', 'scheduler'] as const;
  const protectedNames = components.flatMap((c) =>
    [...PROTECTED_FLAGS[c].names, ...RENDERER_PROTECTED_FLAGS[c].names].map((f): [typeof c, string] => [c, f]),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...protectedNames),
      fc.constantFrom('', '-', '--'),
      fc.string(),
      ([component, flag], dashes, value) => {
        const base = new Map([[flag, 'operator-value']]);
        const { flags } = mergeFlags(component, base, { [`${dashes}${flag}`]: value });
        return flags.get(flag) === 'operator-value' && flags.size === 1;
      },
    ),
  );
});

test('prefix protection and round trip of args', () => {
  assert.equal(isProtectedFlag('apiServer', 'requestheader-group-headers'), true);
  assert.equal(isProtectedFlag('apiServer', 'feature-gates'), false);
  assert.equal(isProtectedFlag('scheduler', 'etcd-servers'), false);
  const flags = new Map([['a', 'x=y'], ['b', '']]);
  assert.deepEqual(flagsToArgs(flags), ['--a=x=y', '--b=']);
  assert.deepEqual(argsToFlags(flagsToArgs(flags)), flags);
});
