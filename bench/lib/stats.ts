/** Small, dependency-free statistics for latency samples (milliseconds). */

/** Nearest-rank percentile: the smallest sample with at least p% of the samples at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
}

export const summarize = (samples: readonly number[]): Summary => ({ n: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99) });

/** Milliseconds since an arbitrary origin, sub-microsecond resolution. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Runs `work` and returns how long it took, in milliseconds. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = now();
  const value = await work();
  return { ms: now() - start, value };
}

export const ms = (value: number, digits = value < 10 ? 2 : value < 100 ? 1 : 0): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export const ratio = (value: number, base: number): number => value / base;

export const times = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');
