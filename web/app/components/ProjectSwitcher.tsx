/** Shown when the key sees more than one project: which one the pages show. */
import { useSession } from '../lib/session-context';

export function ProjectSwitcher() {
  const s = useSession();
  if (s.me.project !== null || s.projects.length < 2) return s.project ? <span className="project">{s.project}</span> : null;
  return (
    <label className="project-switcher">
      <span>Project</span>
      <select value={s.project ?? ''} onChange={(e) => s.setProject(e.target.value || null)}>
        <option value="">All projects</option>
        {s.projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}
