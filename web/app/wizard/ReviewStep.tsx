/** Step 4: what will be deployed, then one click. */
import type { EnvVar } from './EnvVarRow';

export function ReviewStep({ app, platform, config, vars, busy, onDeploy }: { app: string; platform: string; config: Record<string, unknown>; vars: EnvVar[]; busy: boolean; onDeploy(): void }) {
  const named = vars.filter((v) => v.name);
  return (
    <div>
      <h2>Review</h2>
      <dl className="facts">
        <dt>App</dt>
        <dd>{app}</dd>
        <dt>Platform</dt>
        <dd>{platform}</dd>
        <dt>Configuration</dt>
        <dd>{Object.keys(config).length ? <pre className="config">{JSON.stringify(config, null, 2)}</pre> : <span className="muted">as in the manifest</span>}</dd>
        <dt>Environment</dt>
        <dd>{named.length ? <ul>{named.map((v) => <li key={v.id}><code>{v.name}</code> = ••••••</li>)}</ul> : <span className="muted">as in the manifest</span>}</dd>
      </dl>
      <button type="button" className="primary big" onClick={onDeploy} disabled={busy}>
        {busy ? 'Deploying…' : 'Deploy'}
      </button>
    </div>
  );
}
