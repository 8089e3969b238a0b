/** The signed-in frame: header, navigation, project switcher, and the page the path names. */
import { useSession } from '../lib/session-context';
import { match, useLocation } from '../lib/router';
import { AppPage } from '../pages/AppPage';
import { AppsPage } from '../pages/AppsPage';
import { DeploymentPage } from '../pages/DeploymentPage';
import { HistoryPage } from '../pages/HistoryPage';
import { LogsPage } from '../pages/LogsPage';
import { WizardPage } from '../pages/WizardPage';
import { Link } from './Link';
import { ProjectSwitcher } from './ProjectSwitcher';

function Page({ path }: { path: string }) {
  let m: Record<string, string> | undefined;
  if (path === '/' || path === '/apps') return <AppsPage />;
  if (path === '/deploy') return <WizardPage />;
  if ((m = match('/apps/:app', path))) return <AppPage app={m.app!} />;
  if ((m = match('/apps/:app/logs', path))) return <LogsPage app={m.app!} />;
  if ((m = match('/apps/:app/history', path))) return <HistoryPage app={m.app!} />;
  if ((m = match('/deployments/:id', path))) return <DeploymentPage id={m.id!} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <Link to="/">Back to the apps</Link>.
      </p>
    </section>
  );
}

export function Shell() {
  const s = useSession();
  const { path } = useLocation();
  const here = (p: string) => (path === p || (p !== '/' && path.startsWith(p)) ? 'page' : undefined);
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/" className="brand">Gantry</Link>
        <nav aria-label="Main">
          <Link to="/" aria-current={here('/')}>Apps</Link>
          <Link to="/deploy" aria-current={here('/deploy')}>Deploy</Link>
        </nav>
        <div className="who">
          <ProjectSwitcher />
          <span className="muted" title={s.me.key_id}>{s.me.name} · {s.me.role}</span>
          <button type="button" onClick={s.signOut}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </>
  );
}
