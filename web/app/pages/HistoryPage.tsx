/** A target's history: releases with status, a config diff of two, rollback (confirmed), a canary's promote/abort. */
import { useState } from 'react';
import { api, enc } from '../api/client';
import type { AppStatus, Deployment, Release } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DeploymentTable } from '../components/DeploymentTable';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { CanaryPanel } from '../history/CanaryPanel';
import { ConfigDiff } from '../history/ConfigDiff';
import { ReleaseTable } from '../history/ReleaseTable';
import { RollbackProgress } from '../history/RollbackProgress';
import { useLocation } from '../lib/router';
import { canDeploy, useSession } from '../lib/session-context';
import { useApi } from '../lib/useApi';

export function HistoryPage({ app }: { app: string }) {
  const s = useSession();
  const { query } = useLocation();
  const status = useApi<AppStatus>(`/api/v1/apps/${enc(app)}/status`, 3000);
  const target = query.get('target') ?? status.data?.targets[0]?.target;
  const releases = useApi<{ releases: Release[] }>(target ? `/api/v1/apps/${enc(app)}/releases?target=${enc(target)}` : null, 5000);
  const deps = useApi<{ deployments: Deployment[] }>(`/api/v1/apps/${enc(app)}/deployments?limit=20`, 3000);
  const [picked, setPicked] = useState<string[]>([]);
  const [confirm, setConfirm] = useState<Release>();
  const [rollbackJob, setRollbackJob] = useState<string>();
  const [error, setError] = useState<unknown>();

  const ts = status.data?.targets.find((t) => t.target === target);
  const running = deps.data?.deployments.find((d) => d.target === target && (d.status === 'running' || d.status === 'queued') && d.kind === 'deploy');
  const pick = (r: string) => setPicked((p) => (p.includes(r) ? p.filter((x) => x !== r) : [...p.slice(-1), r]));
  const [older, newer] = [...picked].sort();

  const rollback = async (r: Release) => {
    setConfirm(undefined);
    setError(undefined);
    try {
      const d = await api<Deployment>(`/api/v1/apps/${enc(app)}/rollback`, { method: 'POST', body: { target, release: r.release } });
      setRollbackJob(d.id);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section>
      <div className="page-head">
        <h1>History of {app}{target ? ` on ${target}` : ''}</h1>
        <Link to={`/apps/${enc(app)}`}>Back to {app}</Link>
      </div>
      {ts?.deploying && running && canDeploy(s) && <CanaryPanel app={app} target={target!} jobId={running.id} phase={ts.deploying.phase} traffic={(ts as { traffic?: unknown }).traffic} release={ts.deploying.release} />}
      <ErrorNote error={releases.error ?? error} />
      {rollbackJob && <RollbackProgress id={rollbackJob} onEnd={() => { releases.reload(); status.reload(); deps.reload(); }} />}
      <h2>Releases</h2>
      {releases.data && <ReleaseTable releases={releases.data.releases} picked={picked} onPick={pick} onRollback={setConfirm} canDeploy={canDeploy(s)} />}
      <p className="muted small">Tick two releases to compare their config.</p>
      {older && newer && target && <ConfigDiff app={app} target={target} from={older} to={newer} />}
      <h2>Deployments</h2>
      {deps.data && <DeploymentTable deployments={deps.data.deployments.filter((d) => !target || d.target === target)} />}
      <ConfirmDialog open={confirm !== undefined} title={`Roll back to ${confirm?.version ?? ''}?`} confirmLabel="Roll back" onConfirm={() => confirm && void rollback(confirm)} onCancel={() => setConfirm(undefined)}>
        <p>
          {target} goes back to release <code>{confirm?.release}</code> without a rebuild, through the same health gates. The current release stays kept.
        </p>
      </ConfirmDialog>
    </section>
  );
}
