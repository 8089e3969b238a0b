/**
 * One-file backups of Gantry's state (state.db) and an app's persistent data (and, when
 * asked, its secrets): a gzip'd tar whose first entry, gantry-backup.json, lists every
 * other entry with its size and SHA-256.
 */
export { createBackup, GZIP_LEVEL, type CreateBackupOptions, type CreateBackupResult } from './create.js';
export { inspectBackup, verifyBackup } from './verify.js';
export { restoreBackup, stageRestore, type RestoreBackupOptions, type StagedRestore } from './restore.js';
export { backupFileName, listBackups, pruneBackups, type BackupListing } from './list.js';
export { BACKUP_FORMAT, BACKUP_VERSION, MANIFEST_NAME, type BackupEntry, type BackupEntryType, type BackupManifest } from './manifest.js';
