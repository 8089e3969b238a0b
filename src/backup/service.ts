/**
 * The backup module as the engine's BackupService (src/engine/types.ts) takes it, for the
 * CLI and the server alike. The module is loaded on first use: its archive libraries are
 * heavy to import and most commands never touch a backup.
 */
const load = () => import('./index.js');

export const backupService = {
  fileName: async (app: string, target: string) => (await load()).backupFileName(app, target),
  create: async (opts: Parameters<typeof import('./index.js').createBackup>[0]) => (await load()).createBackup(opts),
  list: async (dir: string) => (await load()).listBackups(dir),
  prune: async (dir: string, keep: number, only: { app?: string; target?: string }) => (await load()).pruneBackups(dir, keep, only),
  inspect: async (file: string) => (await load()).inspectBackup(file),
  stage: async (opts: Parameters<typeof import('./index.js').stageRestore>[0]) => (await load()).stageRestore(opts),
};
