/** Step 1: the app to deploy and the platform, from a grid of the server's target types. */
import type { AppSummary, TargetType } from '../api/types';
import { PlatformCard } from './PlatformCard';

export function PlatformStep({ apps, app, setApp, targets, platform, setPlatform }: { apps: AppSummary[]; app: string; setApp(a: string): void; targets: TargetType[] | undefined; platform: string; setPlatform(p: string): void }) {
  return (
    <div>
      <div className="field">
        <label htmlFor="wizard-app">App</label>
        <select id="wizard-app" value={app} onChange={(e) => setApp(e.target.value)}>
          <option value="">Choose an app…</option>
          {apps.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
        </select>
      </div>
      <h2>Platform</h2>
      {!targets && <p className="muted" role="status">Asking the server what it can deploy to…</p>}
      <div className="grid">
        {targets?.map((t) => <PlatformCard key={t.type} t={t} chosen={platform === t.type} onChoose={() => setPlatform(t.type)} />)}
      </div>
    </div>
  );
}
