export { handleGitPush, type GitHookConfig, type GitPushDeps, type GitPushInput, type HookResponse } from './handle-git-push.js';
export { fetchCommit, remoteBranchHead, checkBranch, checkRepoUrl, redactUrl, type FetchCommitOptions } from './git-cli.js';
export { BranchWatcher, watchIntervalMs, type BranchWatcherOptions } from './branch-watcher.js';
export { KyselyReplayStore, MemoryReplayStore, createReplayTable, type ReplayStore } from './replay-store.js';
export { readPushEvent, type GitProvider, type PushEvent } from './push-payload.js';
export { hmacSha256Header, tokensEqual, verifyHmacSha256 } from './signature.js';
