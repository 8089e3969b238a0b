export { SecretStore, setCommand, MAX_SECRET_BYTES, type SecretMeta, type SecretStoreOptions, type SecretCheck } from './store.js';
export { readSecretValue, type ReadSecretValueOptions } from './read-value.js';
export { secretsDir, DEFAULT_ENV, SECRET_NAME_RE, assertSecretName } from './paths.js';
export { IDENTITY_ENV, parseIdentityText } from './identity.js';
