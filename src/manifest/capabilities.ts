/**
 * Third pass: what the manifest asks of each target must be something that
 * target declares it can do (its capabilities), e.g. no canary on a target
 * whose traffic nobody splits. The manifest layer knows capabilities only by
 * shape, never a target type.
 */
import { DEFAULTS } from '../core/defaults.js';
import type { Draft } from './issues.js';
import { quoteList } from './suggest.js';

/** The part of a target's declared capabilities the validator reads. */
export interface DeclaredCapabilities {
  strategies: readonly string[];
  traffic: string;
  nodes: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function checkCapabilities(raw: Record<string, unknown>, capabilitiesOf: (type: string) => DeclaredCapabilities | undefined): Draft[] {
  const drafts: Draft[] = [];
  if (!isPlainObject(raw.targets)) return drafts;
  const strategy = isPlainObject(raw.strategy) ? raw.strategy : undefined;
  const asked = typeof strategy?.type === 'string' ? strategy.type : DEFAULTS.strategy.type;
  for (const [name, cfg] of Object.entries(raw.targets)) {
    if (!isPlainObject(cfg) || typeof cfg.type !== 'string') continue;
    const caps = capabilitiesOf(cfg.type);
    if (!caps || caps.strategies.includes(asked)) continue;
    const explicit = typeof strategy?.type === 'string';
    drafts.push({
      path: explicit ? ['strategy', 'type'] : ['targets', name, 'type'],
      at: 'value',
      message: `target "${name}" (type ${cfg.type}) cannot run the ${asked} strategy${explicit ? '' : ' (the default)'}: its traffic is ${caps.traffic === 'none' ? 'split by nobody' : `routed per ${caps.traffic}`}`,
      hint: `strategies ${cfg.type} can run: ${quoteList(caps.strategies)}; set strategy.type to one of them (or use an environment overlay per target)`,
    });
  }
  return drafts;
}
