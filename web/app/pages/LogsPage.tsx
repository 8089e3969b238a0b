/** An app's logs, for one target (?target=) or its first. */
import { enc } from '../api/client';
import { Link } from '../components/Link';
import { LogViewer } from '../logs/LogViewer';
import { useLocation } from '../lib/router';

export function LogsPage({ app }: { app: string }) {
  const { query } = useLocation();
  const target = query.get('target') ?? undefined;
  return (
    <section>
      <div className="page-head">
        <h1>Logs of {app}{target ? ` on ${target}` : ''}</h1>
        <Link to={`/apps/${enc(app)}`}>Back to {app}</Link>
      </div>
      <LogViewer app={app} target={target} />
    </section>
  );
}
