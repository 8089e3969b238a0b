/** Load an API resource; `reload` fetches it again, `refreshMs` polls (paused while the tab is hidden). */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';

export function useApi<T>(path: string | null, refreshMs?: number): { data: T | undefined; error: Error | undefined; loading: boolean; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    if (!path) return;
    const ac = new AbortController();
    setLoading(true);
    api<T>(path, { signal: ac.signal })
      .then((d) => {
        setData(d);
        setError(undefined);
      })
      .catch((e: Error) => {
        if (!ac.signal.aborted) setError(e);
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
  }, [path, tick]);

  useEffect(() => {
    if (!refreshMs || !path) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((n) => n + 1);
    }, refreshMs);
    return () => clearInterval(t);
  }, [path, refreshMs]);

  return { data, error, loading, reload };
}
