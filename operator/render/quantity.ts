// Just enough of Kubernetes' resource.Quantity to turn a storage size into bytes.
const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Bytes of a quantity such as `1Gi`, `500M`, `1.5Gi`, `1e9`. Throws on anything else. */
export function quantityToBytes(quantity: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)|[eE]([0-9]+))?$/.exec(String(quantity).trim());
  if (!m) throw new Error(`${JSON.stringify(quantity)} is not a storage quantity like 1Gi or 500M`);
  const value = Number(m[1]);
  const factor = m[3] !== undefined ? 10 ** Number(m[3]) : SUFFIX[m[2] ?? '']!;
  return Math.floor(value * factor);
}
