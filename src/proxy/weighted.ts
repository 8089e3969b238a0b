/**
 * Smooth weighted round robin (the nginx algorithm): every pick adds each
 * candidate's weight to its running score, takes the highest score and
 * subtracts the total from the winner. 90/10 splits exactly 9:1 over every 10
 * picks and equal weights alternate, without bursts to one backend.
 */
export class SmoothWeighted<T extends { readonly weight: number }> {
  readonly items: readonly T[];
  private readonly scores: Float64Array;

  constructor(items: readonly T[]) {
    this.items = items.filter((i) => i.weight > 0 && Number.isFinite(i.weight));
    this.scores = new Float64Array(this.items.length);
  }

  get size(): number {
    return this.items.length;
  }

  /** Next item, skipping those in `exclude` (used when retrying after a connect error). */
  pick(exclude?: ReadonlySet<T>): T | undefined {
    const items = this.items;
    const scores = this.scores;
    if (items.length === 1) return exclude?.has(items[0]!) ? undefined : items[0];
    let total = 0;
    let best = -1;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (exclude !== undefined && exclude.has(item)) continue;
      scores[i]! += item.weight;
      total += item.weight;
      if (best < 0 || scores[i]! > scores[best]!) best = i;
    }
    if (best < 0) return undefined;
    scores[best]! -= total;
    return items[best];
  }
}
