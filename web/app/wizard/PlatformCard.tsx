/** A target type in the platform grid: what it is, what it needs, and whether this server has it. */
import type { TargetType } from '../api/types';

export function PlatformCard({ t, chosen, onChoose }: { t: TargetType; chosen: boolean; onChoose(): void }) {
  return (
    <article className={`card platform ${chosen ? 'chosen' : ''}`} data-platform={t.type} aria-labelledby={`pf-${t.type}`}>
      <h3 id={`pf-${t.type}`}>{t.type}</h3>
      <p className="small">{t.summary}</p>
      <p className={t.ready ? 'ok-text' : 'warn-text'} data-ready={t.ready}>{t.ready ? 'Prerequisites met on this server' : 'Prerequisites missing on this server'}</p>
      <details>
        <summary>Prerequisites ({t.prerequisites.filter((c) => c.ok).length}/{t.prerequisites.length} met)</summary>
        <ul className="checks">
          {t.prerequisites.map((c) => (
            <li key={c.name} className={c.ok ? 'ok-text' : 'warn-text'}>
              <span aria-label={c.ok ? 'met' : 'missing'}>{c.ok ? '✓' : '✗'}</span> {c.name}: {c.detail}
              {!c.ok && c.hint ? <span className="muted"> (fix: {c.hint})</span> : null}
            </li>
          ))}
        </ul>
      </details>
      <button type="button" className={chosen ? 'primary' : ''} aria-pressed={chosen} onClick={onChoose}>
        {chosen ? 'Chosen' : `Choose ${t.type}`}
      </button>
    </article>
  );
}
