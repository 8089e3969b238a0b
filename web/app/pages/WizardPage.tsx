/** The seeds' 5-step deploy wizard: platform, configuration, environment, review, progress. */
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api/client';
import type { AppSummary, Deployment, TargetType } from '../api/types';
import { ErrorNote } from '../components/ErrorNote';
import { useLocation } from '../lib/router';
import { useSession } from '../lib/session-context';
import { useApi } from '../lib/useApi';
import { ConfigStep } from '../wizard/ConfigStep';
import { EnvStep } from '../wizard/EnvStep';
import type { EnvVar } from '../wizard/EnvVarRow';
import { ENV_NAME } from '../wizard/EnvVarRow';
import { PlatformStep } from '../wizard/PlatformStep';
import { ProgressStep } from '../wizard/ProgressStep';
import { ReviewStep } from '../wizard/ReviewStep';
import { leafPaths, setAt } from '../wizard/schema-form';
import { StepIndicator, STEPS } from '../wizard/StepIndicator';
import { useLiveValidation } from '../wizard/useLiveValidation';

export function WizardPage() {
  const s = useSession();
  const { query } = useLocation();
  const apps = useApi<{ apps: AppSummary[] }>('/api/v1/apps');
  const targets = useApi<{ targets: TargetType[] }>('/api/v1/targets');
  const [step, setStep] = useState(1);
  const [app, setApp] = useState(query.get('app') ?? '');
  const [platform, setPlatform] = useState('');
  const [config, setConfig] = useState<Record<string, unknown>>({});
  const [vars, setVars] = useState<EnvVar[]>([]);
  const [deploying, setDeploying] = useState(false);
  const [deployment, setDeployment] = useState<string>();
  const [error, setError] = useState<unknown>();

  const target = targets.data?.targets.find((t) => t.type === platform);
  const fields = useMemo(() => (target ? leafPaths(target.config_schema) : []), [target]);
  const validation = useLiveValidation(step >= 2 && step <= 4 ? platform : '', app, config, fields);
  const myApps = (apps.data?.apps ?? []).filter((a) => !s.project || a.project === s.project);

  useEffect(() => setConfig({}), [platform]);
  useEffect(() => {
    document.querySelector<HTMLElement>('#wizard-step-title')?.focus();
  }, [step]);

  const envOk = vars.every((v) => (v.name === '' && v.value === '') || ENV_NAME.test(v.name));
  const canNext = step === 1 ? Boolean(app && platform) : step === 2 ? validation.valid === true && !validation.checking : step === 3 ? envOk : false;

  const deploy = async () => {
    setDeploying(true);
    setError(undefined);
    try {
      const env_vars = Object.fromEntries(vars.filter((v) => v.name).map((v) => [v.name, v.value]));
      const d = await api<Deployment>('/api/v1/deploy/unified', { method: 'POST', body: { app, deployment_type: platform, platform_config: config, ...(Object.keys(env_vars).length ? { env_vars } : {}) } });
      setDeployment(d.id);
      setStep(5);
    } catch (e) {
      setError(e);
    } finally {
      setDeploying(false);
    }
  };

  return (
    <section className="wizard">
      <h1>Deploy</h1>
      <StepIndicator step={step} />
      <h2 id="wizard-step-title" tabIndex={-1} className="sr-only">Step {step} of 5: {STEPS[step - 1]}</h2>
      <ErrorNote error={apps.error ?? targets.error} />
      {step === 1 && <PlatformStep apps={myApps} app={app} setApp={setApp} targets={targets.data?.targets} platform={platform} setPlatform={setPlatform} />}
      {step === 2 && target && <ConfigStep target={target} config={config} validation={validation} onChange={(path, v) => setConfig((c) => setAt(c, path, v))} />}
      {step === 3 && <EnvStep app={app} vars={vars} setVars={setVars} />}
      {step === 4 && <ReviewStep app={app} platform={platform} config={config} vars={vars} busy={deploying} onDeploy={() => void deploy()} />}
      {step === 5 && deployment && <ProgressStep id={deployment} />}
      <ErrorNote error={error} />
      {step < 5 && (
        <div className="wizard-nav">
          <button type="button" onClick={() => setStep((n) => n - 1)} disabled={step === 1}>Back</button>
          {step < 4 && <button type="button" className="primary" onClick={() => setStep((n) => n + 1)} disabled={!canNext}>Next</button>}
        </div>
      )}
    </section>
  );
}
