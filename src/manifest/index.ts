export { loadManifest, validateManifest, validateManifestSource, invalidManifestError, formatProblem, type LoadOptions, type LoadedManifest, type ValidationResult } from './load.js';
export { ManifestSchema, StoredManifestSchema, DURATION_FORMATS, type StoredManifest, type Manifest, type ManifestInput, type TargetConfig, type EnvironmentOverlay, type HealthType, type StrategyType } from './schema.js';
export { interpolateString, RESERVED_VARS } from './interpolate.js';
export { manifestJsonSchema } from './json-schema.js';
export { formatPath, type PathSegment, type Pos } from './positions.js';
export { envVarNameProblem, withEnvVars } from './env-vars.js';
