/**
 * The API key: in memory, and in sessionStorage so a reload keeps the tab signed in
 * (gone when the tab closes). Never in a URL, a cookie or localStorage.
 */
const STORE = 'gantry.key';
let key: string | null = readStored();
const listeners = new Set<() => void>();

function readStored(): string | null {
  try {
    return sessionStorage.getItem(STORE);
  } catch {
    return null;
  }
}

export const currentKey = (): string | null => key;

export function setKey(next: string | null): void {
  key = next;
  try {
    if (next) sessionStorage.setItem(STORE, next);
    else sessionStorage.removeItem(STORE);
  } catch {
    /* storage refused (private mode): memory only */
  }
  listeners.forEach((l) => l());
}

export function onKeyChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
