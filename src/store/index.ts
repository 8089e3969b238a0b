import type { Store as StateStore } from './contract.js';
import { SqliteStore } from './store.js';

/** The engine's state store (the contract both backends keep). */
export type Store = StateStore;
/** `new Store(file)`: the SQLite backend, under the name callers opening a state file have always used. */
export const Store = SqliteStore;
export { SqliteStore };
export type * from './types.js';
