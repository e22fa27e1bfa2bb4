/** IEEE 754 binary16 bits → the number they encode (exact: every half is a double). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Widens a float16 payload (raw uint16 bits, as the decoder keeps it) to float32 or float64.
 * Lossless: half precision weights keep their exact values, so fine-tuning starts where the
 * half-precision checkpoint was.
 */
export function widenHalf(bits: Uint16Array, to: 'float32' | 'float64'): Float32Array | Float64Array {
  const out = to === 'float32' ? new Float32Array(bits.length) : new Float64Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfToNumber(bits[i]!);
  return out;
}
