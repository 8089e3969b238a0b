export { DEFAULT_JOB_TABLE, createJobsTable, dialectOf, type Job, type JobField, type JobStatus, type JobTableSpec, type StoreDialect } from './table.js';
export { claimNextJob, enqueueJob, getJob, reclaimExpired, releaseJob, renewLease, type LeaseOptions, type NewJob, type ReclaimResult } from './lease.js';
export { keepLease, type LeaseKeeper } from './keeper.js';
export { JobWorker, type JobWorkerOptions } from './worker.js';
