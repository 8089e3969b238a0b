/** A deployment's steps as they happen (newest last), each with its time and level. */
import type { StepEvent } from '../api/types';

export function StepTimeline({ events, live }: { events: StepEvent[]; live: boolean }) {
  return (
    <ol className="timeline" aria-label="Steps" aria-live={live ? 'polite' : 'off'}>
      {events.map((e) => (
        <li key={e.seq} className={`step ${e.level}`} data-step={e.step ?? ''}>
          <time dateTime={e.at}>{new Date(e.at).toLocaleTimeString()}</time>
          {e.step ? <span className="step-name">{e.step}</span> : null}
          <span className="step-message">{e.message}</span>
        </li>
      ))}
      {live && <li className="step pending" aria-hidden="true">…</li>}
    </ol>
  );
}
