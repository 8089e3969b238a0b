/** The engine's BackupService, backed by src/backup (loaded on first use: its archive libraries are heavy to import). */
import type { BackupService } from '../engine/index.js';

const load = () => import('../backup/index.js');

export const backupService: BackupService = {
  fileName: async (app, target) => (await load()).backupFileName(app, target),
  create: async (opts) => (await load()).createBackup(opts),
  list: async (dir) => (await load()).listBackups(dir),
  prune: async (dir, keep, only) => (await load()).pruneBackups(dir, keep, only),
  inspect: async (file) => (await load()).inspectBackup(file),
  verify: async (file) => (await load()).verifyBackup(file),
  restore: async (opts) => (await load()).restoreBackup(opts),
};
