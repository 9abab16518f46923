// Command-line flags: defaults as an ordered map, the user's extraArgs on top, security flags protected.
// The CRD refuses protected flags already; the renderer drops them again (and reports it) so that an
// object that slipped past validation - an older CRD, a disabled webhook - still runs hardened.
import { isProtectedFlag as isCRDProtectedFlag, PROTECTED_FLAGS } from '../../crds/schema/rules.ts';

export { PROTECTED_FLAGS };

export type FlagMap = Map<string, string>;

export type FlagComponent = 'apiServer' | 'controllerManager' | 'scheduler';

export interface RenderWarning {
  component: FlagComponent;
  flag: string;
  message: string;
}

/**
 * Flags the CRD accepts but the renderer still refuses, because the operator wires them itself and a
 * user value would break the pod (`oidc-*` even stops the apiserver: it conflicts with
 * `--authentication-config`). The CRD should refuse these too (crds/schema/rules.ts PROTECTED_FLAGS).
 */
export const RENDERER_PROTECTED_FLAGS: Readonly<Record<FlagComponent, { names: readonly string[]; prefixes: readonly string[] }>> = {
  apiServer: { names: ['audit-log-path', 'audit-policy-file', 'endpoint-reconciler-type', 'egress-selector-config-file'], prefixes: ['oidc-'] },
  controllerManager: { names: ['leader-elect'], prefixes: [] },
  scheduler: { names: ['leader-elect'], prefixes: [] },
};

/** Protected: refused by the CRD (the shared list), or by the renderer's own additions above. */
export function isProtectedFlag(component: FlagComponent, flag: string): boolean {
  const extra = RENDERER_PROTECTED_FLAGS[component];
  return (
    isCRDProtectedFlag(component, flag) || extra.names.includes(flag) || extra.prefixes.some((p) => flag.startsWith(p))
  );
}

const FLAG_NAME = /^[a-z0-9][a-z0-9.-]*$/;

/**
 * Defaults overlaid by the user's extra args. Protected flags are dropped with a warning; a user flag that
 * overrides an unprotected default keeps the default's position, new flags follow in name order, so equal
 * input gives equal output (no spurious rollouts).
 */
export function mergeFlags(
  component: FlagComponent,
  defaults: FlagMap,
  extraArgs: Readonly<Record<string, unknown>> | undefined,
): { flags: FlagMap; warnings: RenderWarning[] } {
  const flags: FlagMap = new Map(defaults);
  const warnings: RenderWarning[] = [];
  if (extraArgs === undefined || extraArgs === null) return { flags, warnings };
  if (typeof extraArgs !== 'object' || Array.isArray(extraArgs)) {
    throw new Error(`extraArgs.${component} must be an object of flag name -> value`);
  }
  const added: [string, string][] = [];
  for (const [rawName, rawValue] of Object.entries(extraArgs)) {
    // A leading "--" is tolerated: otherwise "--profiling" would slip past the protected list.
    const name = rawName.replace(/^-+/, '');
    if (!FLAG_NAME.test(name)) {
      throw new Error(`extraArgs.${component}: ${JSON.stringify(rawName)} is not a flag name (lower case, digits, "-", ".")`);
    }
    if (typeof rawValue !== 'string' && typeof rawValue !== 'number' && typeof rawValue !== 'boolean') {
      throw new Error(`extraArgs.${component}.${name}: value must be a string`);
    }
    const value = String(rawValue);
    if (isProtectedFlag(component, name)) {
      warnings.push({ component, flag: name, message: `extraArgs.${component}.${name} is a protected flag and was ignored` });
      continue;
    }
    if (flags.has(name)) flags.set(name, value);
    else added.push([name, value]);
  }
  added.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of added) flags.set(name, value);
  return { flags, warnings };
}

export function flagsToArgs(flags: FlagMap): string[] {
  return [...flags].map(([name, value]) => `--${name}=${value}`);
}

/** Parses `--name=value` arguments back into a map (tests and diagnostics). */
export function argsToFlags(args: readonly string[]): FlagMap {
  const flags: FlagMap = new Map();
  for (const arg of args) {
    const m = /^--([^=]+)=(.*)$/s.exec(arg);
    if (!m) throw new Error(`argument ${JSON.stringify(arg)} is not of the form --name=value`);
    flags.set(m[1]!, m[2]!);
  }
  return flags;
}
