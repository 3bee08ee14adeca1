/**
 * Weighted version selection over a fixed space of 1,000 buckets (weights have 0.1 % precision, so a
 * weight of 12.3 % owns exactly 123 buckets). Versions own consecutive ranges laid out in the order the
 * desired state lists them; that order is a pure function of the desired state, so every agent (and
 * every restart) maps a sticky key to the same version.
 */

export const BUCKETS = 1000;

export interface WeightTable {
  /** Indexes into the service's version list, only versions with a positive weight. */
  indexes: number[];
  /** Buckets owned by each entry of `indexes`. */
  units: number[];
  /** Exclusive cumulative upper bound of each entry, in buckets. */
  uppers: number[];
  /** Sum of `units`; BUCKETS when the weights sum to 100. */
  total: number;
}

export function weightTable(weights: readonly number[]): WeightTable {
  const table: WeightTable = { indexes: [], units: [], uppers: [], total: 0 };
  weights.forEach((weight, index) => {
    const units = Math.round(weight * 10);
    if (!(units > 0)) return;
    table.total += units;
    table.indexes.push(index);
    table.units.push(units);
    table.uppers.push(table.total);
  });
  return table;
}

/** The table entry owning `bucket` (in [0, BUCKETS)); -1 for an empty table. */
export function entryAt(table: WeightTable, bucket: number): number {
  // Scale only when the weights do not sum to 100, so the common case stays integer-exact.
  const point = table.total === BUCKETS ? bucket : (bucket * table.total) / BUCKETS;
  const { uppers } = table;
  for (let i = 0; i < uppers.length; i++) if (point < uppers[i]) return i;
  return uppers.length - 1;
}

/**
 * The version index for a bucket. When the owning version is unavailable (no routable endpoint), its
 * share goes to the available versions in proportion to their weights, chosen by `spill` in [0, 1): keys
 * of available versions never move because another version lost its endpoints. -1 when none is available.
 */
export function chooseVersion(table: WeightTable, bucket: number, spill: () => number, available: (index: number) => boolean): number {
  const entry = entryAt(table, bucket);
  if (entry < 0) return -1;
  const owner = table.indexes[entry];
  if (available(owner)) return owner;
  let total = 0;
  const open: number[] = [];
  for (let i = 0; i < table.indexes.length; i++) {
    if (i !== entry && available(table.indexes[i])) {
      open.push(i);
      total += table.units[i];
    }
  }
  if (open.length === 0) return -1;
  let point = spill() * total;
  for (const i of open) {
    point -= table.units[i];
    if (point < 0) return table.indexes[i];
  }
  return table.indexes[open[open.length - 1]];
}
