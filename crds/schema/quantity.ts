// Kubernetes resource quantities (`250m`, `1Gi`, `1e3`, `2`), parsed exactly (bigint) so the TypeScript
// mirror of the CEL `quantity()` comparisons agrees with the API server.

/** The canonical quantity pattern of k8s.io/apimachinery's resource.Quantity (also used in the CRD). */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

const QUANTITY = new RegExp(QUANTITY_PATTERN);

/** value = mantissa * 10^exp10 * 2^exp2, all exact. */
export interface Quantity {
  mantissa: bigint;
  exp10: number;
  exp2: number;
}

const DECIMAL_SUFFIX: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** Parses a quantity given as a string or an integer (CRD int-or-string); undefined if it is not one. */
export function parseQuantity(input: string | number): Quantity | undefined {
  const text = typeof input === 'number' ? (Number.isInteger(input) ? String(input) : '') : input;
  if (!QUANTITY.test(text)) return undefined;
  const match = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/.exec(text)!;
  const [, sign = '', whole = '', fraction = '', suffix = ''] = match;
  let mantissa = BigInt(`${whole}${fraction}` || '0');
  if (sign === '-') mantissa = -mantissa;
  let exp10 = -fraction.length;
  let exp2 = 0;
  if (suffix in BINARY_SUFFIX) exp2 = BINARY_SUFFIX[suffix]!;
  else if (suffix in DECIMAL_SUFFIX) exp10 += DECIMAL_SUFFIX[suffix]!;
  else {
    // e/E exponent. The pattern also admits a fractional or absurdly large one, which no resource uses.
    const exponent = Number(suffix.slice(1));
    if (!Number.isInteger(exponent) || Math.abs(exponent) > 1000) return undefined;
    exp10 += exponent;
  }
  return { mantissa, exp10, exp2 };
}

export function isQuantity(input: unknown): boolean {
  return (typeof input === 'string' || typeof input === 'number') && parseQuantity(input) !== undefined;
}

/** Orders two quantities exactly: negative, 0 or positive like a - b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const e10 = Math.min(a.exp10, b.exp10);
  const e2 = Math.min(a.exp2, b.exp2);
  const scale = (q: Quantity): bigint => q.mantissa * 10n ** BigInt(q.exp10 - e10) * 2n ** BigInt(q.exp2 - e2);
  const x = scale(a);
  const y = scale(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
