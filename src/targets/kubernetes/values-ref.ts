/**
 * The few fields a deploy changes between helm upgrades (images, replicas, weights,
 * the active track) are chart values; every other field is written into the
 * templates as is. Objects are built once, with placeholders for those fields:
 * resolved against the values they are what the cluster gets (plan, tests); written
 * out they are the chart's templates (`{{ .Values.x | toJson }}`).
 */
export type Values = Record<string, unknown>;

const MARK = '__gantry_value__';
const MARK_RE = new RegExp(`${MARK}([A-Za-z0-9_.]+)`, 'g');
const WHOLE_RE = new RegExp(`^${MARK}([A-Za-z0-9_.]+)$`);

/** A placeholder for `.Values.<path>` (typed as the value it stands for). */
export function valueRef<T = string>(path: string): T {
  return `${MARK}${path}` as unknown as T;
}

function lookup(values: Values, path: string): unknown {
  let v: unknown = values;
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  if (v === undefined) throw new Error(`chart value ${path} is not set`);
  return v;
}

/** The object with every placeholder replaced by its value. */
export function resolveValues<T>(obj: T, values: Values): T {
  if (typeof obj === 'string') {
    const m = WHOLE_RE.exec(obj);
    return (m ? lookup(values, m[1]!) : obj) as T;
  }
  if (Array.isArray(obj)) return obj.map((x) => resolveValues(x, values)) as T;
  if (obj !== null && typeof obj === 'object') return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolveValues(v, values)])) as T;
  return obj;
}

/**
 * YAML text (from the yaml package) with placeholders turned into Helm template expressions.
 * Literal text holding "{{" (an env value, a query) is escaped first, so helm writes it as is.
 */
export function toTemplate(yamlText: string): string {
  return yamlText.replaceAll('{{', '{{ "{{" }}').replace(MARK_RE, (_, path: string) => `{{ .Values.${path} | toJson }}`);
}
