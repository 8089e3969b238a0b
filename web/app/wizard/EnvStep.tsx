/** Step 3: environment variables over the manifest's env (values masked), and the app's secret references. */
import { EnvVarRow, type EnvVar } from './EnvVarRow';
import { SecretRefs } from './SecretRefs';

let nextId = 1;
export const newEnvVar = (): EnvVar => ({ id: nextId++, name: '', value: '' });

export function EnvStep({ app, vars, setVars }: { app: string; vars: EnvVar[]; setVars(v: EnvVar[]): void }) {
  return (
    <div>
      <h2>Environment variables</h2>
      <p className="muted">Set over the manifest's <code>env</code> for this deployment. Values are masked; never put a secret here.</p>
      {vars.map((v) => (
        <EnvVarRow key={v.id} v={v} onChange={(n) => setVars(vars.map((x) => (x.id === v.id ? n : x)))} onRemove={() => setVars(vars.filter((x) => x.id !== v.id))} />
      ))}
      <button type="button" onClick={() => setVars([...vars, newEnvVar()])}>Add variable</button>
      <h2>Secret references</h2>
      <SecretRefs app={app} />
    </div>
  );
}
