/** Canary analysis as a small inline SVG: error rate (bars) and p99 (line) per step, with the figures in a table for screen readers. */
import { useId } from 'react';
import type { AnalysisPoint } from '../lib/analysis';

const W = 320;
const H = 120;
const PAD = 24;

export function AnalysisChart({ points, title = 'Canary analysis' }: { points: AnalysisPoint[]; title?: string }) {
  const id = useId();
  const maxP99 = Math.max(1, ...points.map((p) => Math.max(p.p99Ms, p.stableP99Ms ?? 0)));
  const maxErr = Math.max(0.01, ...points.map((p) => Math.max(p.errorRate, p.stableErrorRate ?? 0)));
  const step = (W - 2 * PAD) / Math.max(1, points.length);
  const x = (i: number) => PAD + i * step + step / 2;
  const yP99 = (v: number) => H - PAD - (v / maxP99) * (H - 2 * PAD);
  const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${yP99(p.p99Ms).toFixed(1)}`).join(' ');
  return (
    <figure className="analysis" aria-labelledby={id}>
      <figcaption id={id}>{title}: error rate (bars, max {(maxErr * 100).toFixed(1)}%) and p99 (line, max {maxP99.toFixed(0)} ms)</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label="error rate and p99 per canary step">
        <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} className="axis" />
        {points.map((p, i) => {
          const h = (p.errorRate / maxErr) * (H - 2 * PAD);
          return <rect key={`b${i}`} x={x(i) - step / 4} y={H - PAD - h} width={step / 2} height={h} className={`bar ${p.verdict}`} />;
        })}
        <path d={line} className="p99" fill="none" />
        {points.map((p, i) => (
          <text key={`t${i}`} x={x(i)} y={H - 6} textAnchor="middle" className="tick">{p.label ?? `${p.percent}%`}</text>
        ))}
      </svg>
      <table className="small">
        <thead><tr><th scope="col">Step</th><th scope="col">Verdict</th><th scope="col">Requests</th><th scope="col">Error rate</th><th scope="col">p99</th></tr></thead>
        <tbody>
          {points.map((p, i) => (
            <tr key={i}><td>{p.label ?? `${p.percent}%`}</td><td>{p.verdict}</td><td>{p.requests}</td><td>{(p.errorRate * 100).toFixed(2)}%</td><td>{p.p99Ms.toFixed(1)} ms</td></tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
