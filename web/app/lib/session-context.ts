/** Who is signed in and which project the pages show. */
import { createContext, useContext } from 'react';
import type { Me, Project } from '../api/types';

export interface SessionState {
  me: Me;
  projects: Project[];
  /** The project the pages show; null: every project the key sees. */
  project: string | null;
  setProject(p: string | null): void;
  signOut(): void;
}

export const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in shell');
  return s;
}

export const canDeploy = (s: SessionState): boolean => s.me.role !== 'viewer';
