/** A deployment and its step events, live over SSE until its `end` event (then read once more for its final fields). */
import { useEffect, useState } from 'react';
import { api, enc } from '../api/client';
import { openSse } from '../api/sse';
import type { Deployment, StepEvent } from '../api/types';

export interface DeploymentStream {
  /** The deployment this state is of (a new id starts empty: nothing of the previous one shows). */
  id?: string;
  deployment?: Deployment;
  events: StepEvent[];
  /** The final status once the stream has ended. */
  final?: string;
  error?: string;
}

export function useDeploymentStream(id: string | undefined): DeploymentStream {
  const [state, setState] = useState<DeploymentStream>({ events: [] });
  useEffect(() => {
    if (!id) return;
    setState({ id, events: [] });
    let live = true;
    const refresh = () =>
      api<Deployment>(`/api/v1/deployments/${enc(id)}`)
        .then((d) => live && setState((s) => ({ ...s, deployment: d })))
        .catch((e: Error) => live && setState((s) => ({ ...s, error: e.message })));
    void refresh();
    const close = openSse(`/api/v1/deployments/${enc(id)}/events`, {
      resume: true,
      onMessage: (m) => {
        if (m.event === 'step') setState((s) => ({ ...s, events: [...s.events, m.data as StepEvent] }));
        if (m.event === 'end') {
          setState((s) => ({ ...s, final: m.data?.status }));
          void refresh();
        }
      },
      onClose: (reason, error) => {
        if (reason === 'error' && live) setState((s) => ({ ...s, error }));
      },
    });
    return () => {
      live = false;
      close();
    };
  }, [id]);
  return state.id === id ? state : { id, events: [] };
}
