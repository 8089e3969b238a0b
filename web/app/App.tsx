/** Signed out: the sign-in form. Signed in: the shell with the page the path names. */
import { useEffect, useState } from 'react';
import { api } from './api/client';
import { currentKey, onKeyChange, setKey } from './api/session';
import type { Me, Project } from './api/types';
import { Shell } from './components/Shell';
import { SignIn } from './components/SignIn';
import { SessionContext, type SessionState } from './lib/session-context';

const PROJECT_STORE = 'gantry.project';

export function App() {
  const [key, setKeyState] = useState(currentKey());
  const [who, setWho] = useState<{ me: Me; projects: Project[] }>();
  const [project, setProjectState] = useState<string | null>(() => sessionStorage.getItem(PROJECT_STORE));

  useEffect(() => onKeyChange(() => setKeyState(currentKey())), []);
  useEffect(() => {
    if (!key) {
      setWho(undefined);
      return;
    }
    Promise.all([api<Me>('/api/v1/me'), api<{ projects: Project[] }>('/api/v1/projects')])
      .then(([me, p]) => setWho({ me, projects: p.projects }))
      .catch(() => setKey(null));
  }, [key]);

  if (!key) return <SignIn />;
  if (!who) return <p className="loading" role="status">Signing in…</p>;
  const session: SessionState = {
    me: who.me,
    projects: who.projects,
    project: who.me.project ?? (who.projects.some((p) => p.id === project) ? project : null),
    setProject: (p) => {
      if (p) sessionStorage.setItem(PROJECT_STORE, p);
      else sessionStorage.removeItem(PROJECT_STORE);
      setProjectState(p);
    },
    signOut: () => setKey(null),
  };
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}
