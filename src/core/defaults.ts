/** Every default Gantry applies, in one place. Durations are in milliseconds. */
export const DEFAULTS = {
  manifestFile: 'gantry.yaml',
  /** Names a manifest is looked for under, in each directory from the working one up to the root. */
  manifestFileNames: ['gantry.yaml', 'gantry.yml'],
  stateDirName: '.gantry',
  defaultTargetName: 'local',
  defaultTargetType: 'process',
  /** Manifests larger than this are refused before parsing (a real one is a few KB; YAML parsing cost grows with size). */
  manifestMaxBytes: 1024 * 1024,
  /** Values a manifest may expand to, aliases included ("billion laughs"). */
  manifestMaxNodes: 100_000,
  /** Time a target's live checks (`validate()`, e.g. reaching the Docker engine) may take. */
  targetValidateTimeoutMs: 5_000,

  /** maxInstances bounds both run.instances and `gantry scale N`. */
  run: { port: 3000, instances: 1, maxInstances: 100 },
  /**
   * Docker's own HEALTHCHECK only mirrors Gantry's gates for `docker ps`; each run
   * forks a probe inside the container, so it never runs more often than this
   * (a manifest's 200 ms interval once piled up 600 probe processes on 2 cores).
   */
  dockerHealthcheck: { minIntervalMs: 10_000, minTimeoutMs: 5_000 },
  health: {
    path: '/health',
    intervalMs: 1_000,
    timeoutMs: 2_000,
    retries: 3,
    startPeriodMs: 30_000,
    expectStatusMin: 200,
    expectStatusMax: 399,
  },
  strategy: {
    type: 'rolling' as const,
    maxUnavailable: 0,
    maxSurge: 1,
    drainTimeoutMs: 10_000,
    stopTimeoutMs: 10_000,
    watchMs: 10_000,
    keepPreviousMs: 60_000,
    canarySteps: [10, 50, 100],
    canaryPauseMs: 30_000,
    /** Many-node targets: nodes per batch (one node first, like a canary host), failed nodes tolerated, and each node's own time limit. */
    batch: 1 as number | `${number}%`,
    maxFailed: 0 as number | `${number}%`,
    nodeTimeoutMs: 10 * 60_000,
    analysis: {
      maxErrorRate: 0.01,
      minRequests: 20,
      /** A step without enough traffic waits this many pauses in all before giving up (inconclusive is not a failure, but it cannot wait forever). */
      maxPauses: 10,
      /** How often the canary's figures are judged while a step lasts. */
      checkEveryMs: 500,
    },
  },

  releasesKept: 5,
  backupsKept: 10,
  /** Earlier values of each secret kept (encrypted) so a rollback gets the values its release ran with. */
  secretVersionsKept: 10,
  hookTimeoutMs: 10 * 60_000,
  /** Lines of a hook's output copied into the deploy's events. */
  hookOutputLines: 200,
  lockPollMs: 500,
  /**
   * A deploy lock's lease: its holder renews it every third of this. A lock held from another host
   * (replicas sharing a PostgreSQL store) is stale once not renewed for this long; on this host the holder's pid decides.
   */
  lockLeaseMs: 30_000,
  /** A call into the engine's state store on PostgreSQL (pg/pg-store.ts) fails after this long without an answer. */
  pgStateCallTimeoutMs: 60_000,
  /** Connecting to that PostgreSQL (at start, and again after a dropped connection) fails after this long. */
  pgConnectTimeoutMs: 10_000,
  /** How long `gantry promote` / `gantry abort` wait for the running deploy to act (an abort includes restoring the previous release). */
  signalWaitMs: 120_000,
  /** Bounds on captured output (build, hooks, health commands, tasks, log tails): bytes as well as lines. */
  output: {
    /** A longer line is cut and ends with "… [truncated N bytes]". */
    maxLineBytes: 4 * 1024,
    /** The most kept of one command's output (its tail) in events and results. */
    maxBytes: 64 * 1024,
    /** Of a failed build's output, the tail quoted in its error message. */
    errorTailBytes: 8 * 1024,
    /** Any one message, reason or error text written to the state store. */
    storedTextMaxBytes: 64 * 1024,
  },
  /** A release's build log beside it (`<release>.build.log`) is rotated to `.build.log.1` past this size. */
  buildLogMaxBytes: 2 * 1024 * 1024,
  /** The proxy's access log per app+target (then rotated once to `.1`). */
  accessLogMaxBytes: 5 * 1024 * 1024,
  /** Build logs of failed builds (no release kept) that are kept; older ones are deleted. */
  failedBuildLogsKept: 5,

  supervisor: {
    backoffInitialMs: 500,
    backoffMaxMs: 30_000,
    /** A run longer than this resets the backoff. */
    backoffResetAfterMs: 10_000,
    logMaxBytes: 5 * 1024 * 1024,
  },
  proxy: {
    /** A proxy port Gantry picked itself and lost before the agent bound it is picked again, this many times in all. */
    freePortAttempts: 3,
    host: '127.0.0.1',
    /** Connect failures are retried on another backend this many times (the request never reached an app). */
    connectRetries: 3,
    /** Requests arriving while no backend is routed wait this long for one (recreate/exclusive deploys). */
    holdTimeoutMs: 30_000,
    maxHeldRequests: 10_000,
    /** Time to the app's first response byte before the client gets 504 (manifest: proxy.response_timeout). */
    responseTimeoutMs: 60_000,
    /** A response body with no bytes moving either way this long is cut (manifest: proxy.idle_timeout). */
    idleTimeoutMs: 60_000,
    /** After a port change, the former address keeps serving this long past the deploy that moved it (clients that just read the old URL). */
    formerAddressGraceMs: 2_000,
    /**
     * Access log lines are gathered this long and written as one batch: a write per request
     * cost the proxy a thread-pool round trip (about 4 system calls) each.
     */
    accessLogFlushMs: 100,
  },
  /** `gantry maintenance on`: what the proxy tells clients (Retry-After, seconds). */
  maintenance: { retryAfterSeconds: 60 },
  /** `gantry status`: the window over which each instance's CPU % is measured. */
  status: { cpuSampleMs: 500 },
  agent: {
    startTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    /**
     * How long the admin API keeps an idle connection. Far longer than a client's own idle limit
     * (undici's 4 s), so the client always closes first: were the agent to close just as a request
     * went out on the kept connection (slow over an SSH channel), a POST would fail with "closed".
     */
    adminKeepAliveMs: 65_000,
    /**
     * A request to an agent on another host whose connection broke before any answer is sent
     * again this much later on a new connection, once. Every agent call is idempotent (an
     * instance start names its id); a 30-host deploy on 2 shared cores saw such a break.
     */
    resendAfterMs: 1_000,
  },
  /** The ssh target (hosts reached over SSH). */
  ssh: {
    port: 22,
    /** The app's port on each host (Gantry's proxy there). */
    proxyPort: 8080,
    /** Where releases live on each host (<path>/<app>/releases/<id>). */
    path: '/opt/gantry',
    /** Hosts worked on at once. */
    parallel: 32,
    /** Runs in all of a command whose session sshd closed without an exit status (a busy host), 100 ms × n apart. */
    unreportedAttempts: 4,
    /**
     * A host's agent unit (re)started until it answers. Longer than a local agent's: a fleet starts
     * many at once, each loading the bundle on its host's CPUs (10 s ran out at 10 hosts on 2 shared cores).
     */
    agentStartTimeoutMs: 60_000,
    /** TCP connect + SSH handshake + authentication, per host. */
    connectTimeoutMs: 10_000,
    /** One remote command, per host. */
    commandTimeoutMs: 5 * 60_000,
    /** After a command's timeout, the host's own `timeout` kills it this much later (a backstop when sshd refuses signals). */
    remoteKillGraceMs: 1_000,
    /** A silent host is declared gone after keepaliveCountMax unanswered keepalives. */
    keepaliveIntervalMs: 10_000,
    keepaliveCountMax: 3,
    /** Relative to the user's home directory, as ssh reads it. */
    knownHostsFile: '.ssh/known_hosts',
    /** Output of one remote command kept in memory (stdout and stderr each); more is dropped and flagged. */
    maxCommandOutputBytes: 8 * 1024 * 1024,
    /** Commands running at once on one connection (OpenSSH's MaxSessions defaults to 10). */
    maxSessionsPerConnection: 8,
    /** Releases kept on each host (<path>/<app>/releases); the current and the last known-good are kept besides. */
    releasesKept: 5,
    /** Local files hashed at once when indexing a release for transfer. */
    hashConcurrency: 8,
  },
  /** The nginx site the ssh target writes in front of an app (reverse_proxy: nginx). */
  nginx: {
    httpPort: 80,
    httpsPort: 443,
  },
  /** The kubernetes target (a generated Helm chart applied with helm). */
  kubernetes: {
    namespace: 'default',
    servicePort: 80,
    workdir: '/app',
    storageSize: '1Gi',
    hpaCpuPercent: 80,
    /** LimitRange defaults under a CPU or memory quota, for containers that name no requests. */
    quotaDefaultCpu: '100m',
    quotaDefaultMemory: '128Mi',
    /** helm upgrade --wait gives up after this (--timeout). */
    helmTimeoutMs: 300_000,
    analysisIntervalMs: 30_000,
    /** Where tools.ts looks for helm and kubectl after PATH (scripts/k8s-tools.sh puts them there). */
    toolsDir: '.cache/gantry/k8s-tools',
    /** helm and kubectl runs that are not rollouts (version, lint, template, status). */
    toolTimeoutMs: 60_000,
    /** A read of the Kubernetes API (doctor, status) gives up after this: an unreachable cluster is named, not waited on. */
    apiTimeoutMs: 10_000,
    /** A canary step asks the cluster (pods, Prometheus) at most this often. */
    canaryJudgeEveryMs: 2_000,
    /** `gantry status` shows this many of the app's most recent cluster events. */
    statusEvents: 10,
  },
  logsTailLines: 100,
  /** `gantry server`: the control-plane API. */
  server: {
    host: '127.0.0.1',
    port: 7070,
    /** Request bodies larger than this are refused with 413 (a manifest is a few KB). */
    bodyLimitBytes: 1_048_576,
    /**
     * A body over the limit but under this is read and dropped before the 413 goes out, so the
     * client, still sending, reads the answer instead of a broken pipe; larger ones close the connection.
     */
    oversizeDrainBytes: 16 * 1_048_576,
    /** A worker's claim on a job lasts this long; it renews it every third of it while the job runs. */
    jobLeaseMs: 15_000,
    /** How often an idle worker looks for a queued job. */
    jobPollMs: 250,
    workers: 2,
    /** Failed authentications per client address per window before 429. */
    authFailuresPerWindow: 10,
    authFailureWindowMs: 60_000,
    /** A verified key is trusted this long without hashing it again (revocation on another replica takes at most this). */
    keyCacheMs: 30_000,
    /** Default quotas of a new project. */
    maxApps: 100,
    maxConcurrentDeploys: 4,
    /** SSE: events sent per poll and how often a stream polls the store. */
    ssePollMs: 200,
    /** The dashboard's content-hashed assets (dist/web/assets): cached this long, immutable. */
    webAssetMaxAgeMs: 365 * 24 * 3600 * 1000,
    /** Other files at the top of the dashboard's build (favicon ...). index.html is never cached. */
    webFileMaxAgeMs: 3600 * 1000,
    /** GET /api/v1/targets: each target's doctor checks are run at most this often, each bounded by the timeout. */
    doctorCacheMs: 30_000,
    doctorTimeoutMs: 15_000,
  },
  /** `gantry logs --since/--grep`: lines read per instance (newest first) to find those that match. */
  logsFilterScanLines: 10_000,
  autoscale: {
    cooldownMs: 30_000,
    /** Sampling interval: a quarter of the cooldown, within these bounds. */
    minIntervalMs: 500,
    maxIntervalMs: 5_000,
  },
  /**
   * The server's durable job queue (src/server/jobs-lease): a claimed job is leased and the lease renewed
   * every third of it while the job runs (two renewals may be lost before another replica takes the job over).
   */
  jobLease: {
    leaseMs: 30_000,
    /** Claims of one job (first run + resumptions after a lost lease) before it is recorded failed. */
    maxAttempts: 3,
  },
  /** Git push triggers (src/server/triggers). */
  gitTrigger: {
    /** `git fetch` of the pushed commit (and `git ls-remote` when polling) may take this long. */
    fetchTimeoutMs: 5 * 60_000,
    /** `watch: { interval }` when not given, and the least it may be (a remote is not polled harder). */
    pollIntervalMs: 60_000,
    minPollIntervalMs: 5_000,
    /** Webhook delivery ids remembered to refuse replays. */
    deliveryIdsKeptMs: 7 * 24 * 3600_000,
    /** A push payload larger than this is refused (413) before it is parsed (GitHub caps theirs at 25 MB; pushes are far smaller). */
    maxBodyBytes: 5 * 1024 * 1024,
  },
  /** Outgoing notifications (src/server/notify). */
  notify: {
    timeoutMs: 5_000,
    /** Attempts in all (the first included); 5xx, 429 and network errors are retried, other 4xx are not. */
    attempts: 3,
    backoffMs: 500,
  },
} as const;
