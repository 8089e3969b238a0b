/** Where the wizard is: its five steps, the current one marked for assistive tech too. */
export const STEPS = ['Platform', 'Configuration', 'Environment', 'Review', 'Progress'] as const;

export function StepIndicator({ step }: { step: number }) {
  return (
    <ol className="steps" aria-label="Deploy wizard steps">
      {STEPS.map((s, i) => (
        <li key={s} className={i + 1 === step ? 'current' : i + 1 < step ? 'done' : ''} aria-current={i + 1 === step ? 'step' : undefined}>
          <span className="num">{i + 1}</span> {s}
        </li>
      ))}
    </ol>
  );
}
