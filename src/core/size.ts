const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|ki|kib|m|mb|mi|mib|g|gb|gi|gib)?$/i;
const UNIT: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, ki: 1024, kib: 1024, m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2, g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3 };

/** "512Mi", "1g", "256mb" → bytes; undefined when it is not a size. */
export function parseSize(v: string): number | undefined {
  const m = SIZE_RE.exec(v.trim());
  return m ? Math.round(Number(m[1]) * UNIT[(m[2] ?? 'b').toLowerCase()]!) : undefined;
}
