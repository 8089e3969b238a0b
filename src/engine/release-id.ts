/** `<UTC timestamp with ms>-<first 10 hex of the content hash>`, e.g. 20261124T011151123Z-3f2a9c0d1e. */
export function newReleaseId(contentHash: string, at = new Date()): string {
  const ts = at.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${ts}-${contentHash.slice(0, 10)}`;
}

/** Unique, path- and name-safe id for one instance of a release. */
export function newInstanceId(releaseId: string, index: number): string {
  const hash = releaseId.split('-').pop()!.slice(0, 6);
  const nonce = Math.random().toString(36).slice(2, 6).padEnd(4, '0');
  return `${hash}-${index}-${nonce}`;
}
