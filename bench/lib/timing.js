// Clocks and small statistics shared by every bench section.
import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds (for durations). */
export const now = () => performance.now();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function percentile(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx];
}

export const median = (values) => {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** { n, min, median, p90, max, mean } of a list of numbers, rounded to 0.1. */
export function summarize(values) {
  const r = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
  if (!values.length) return { n: 0, min: null, median: null, p90: null, max: null, mean: null };
  return {
    n: values.length,
    min: r(Math.min(...values)),
    median: r(median(values)),
    p90: r(percentile(values, 90)),
    max: r(Math.max(...values)),
    mean: r(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? Math.round((a / b) * 100) / 100 : null);
