/** The logs viewer: live tail, pause, search, download; a virtualised list (only the visible rows are in the DOM). */
import { useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { lineText, useLogTail } from './useLogTail';

const ROW_PX = 20;

export function LogViewer({ app, target }: { app: string; target?: string }) {
  const [paused, setPaused] = useState(false);
  const [query, setQuery] = useState('');
  const deferredQuery = useDeferredValue(query);
  const { lines, count, state, error } = useLogTail(app, target, { paused });
  const scroller = useRef<HTMLDivElement>(null);

  // Indexes of the lines shown: all of them, or those matching the search (case-insensitive).
  const shown = useMemo(() => {
    const q = deferredQuery.trim().toLowerCase();
    if (!q) return null;
    const out: number[] = [];
    for (let i = 0; i < count; i++) if (lineText(lines[i]!).toLowerCase().includes(q)) out.push(i);
    return out;
  }, [deferredQuery, count, lines]);
  const total = shown ? shown.length : count;

  const v = useVirtualizer({ count: total, getScrollElement: () => scroller.current, estimateSize: () => ROW_PX, overscan: 20 });

  // Follow the tail while live and not searching.
  useEffect(() => {
    if (!paused && !shown && total > 0) v.scrollToIndex(total - 1, { align: 'end' });
  }, [total, paused, shown, v]);

  const download = () => {
    const blob = new Blob([lines.slice(0, count).map(lineText).join('\n') + '\n'], { type: 'text/plain' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `${app}${target ? `-${target}` : ''}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <section className="logs" aria-label="Logs">
      <div className="log-tools">
        <button type="button" onClick={() => setPaused((p) => !p)} aria-pressed={paused}>{paused ? 'Resume' : 'Pause'}</button>
        <label htmlFor="log-search" className="sr-only">Search the logs</label>
        <input id="log-search" type="search" placeholder="Search" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="button" onClick={download} disabled={count === 0}>Download</button>
        <span className="muted small" role="status" data-testid="log-count" data-count={count} data-matches={shown ? shown.length : ''}>
          {count.toLocaleString('en')} lines{shown ? ` · ${shown.length.toLocaleString('en')} matching` : ''} · {paused ? 'paused' : state}
        </span>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      <div ref={scroller} className="log-scroll" role="log" aria-live="off" tabIndex={0} aria-label="Log lines">
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((row) => {
            const l = lines[shown ? shown[row.index]! : row.index]!;
            return (
              <div key={row.key} className={`log-line ${l.stream}`} data-index={row.index} style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_PX, transform: `translateY(${row.start}px)` }}>
                {lineText(l)}
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
