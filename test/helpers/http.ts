import { request } from 'undici';

export async function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const res = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

export async function getJson(url: string): Promise<any> {
  const r = await get(url);
  return JSON.parse(r.body);
}

export interface LoopReport {
  ok: number;
  failed: number;
  /** Requests sent again once after their kept-alive connection was closed under them (only with retryClosedKeepAlive). */
  retried: number;
  errors: string[];
  releases: Map<string, number>;
}

/**
 * A client polling url in a loop until stopped: counts successes, failures
 * (non-2xx or network errors) and which release answered. Bounded by maxMs.
 * A request may wait requestTimeoutMs (default 5 s) for its answer: recreate holds
 * requests at the proxy while nothing runs, which is a wait, not a failure.
 */
/** The server closed a kept-alive connection as the request went out on it (undici's UND_ERR_SOCKET, no response byte read). */
function closedUnderRequest(e: unknown): boolean {
  return (e as { code?: string }).code === 'UND_ERR_SOCKET' && /other side closed/.test((e as Error).message);
}

export function pollLoop(
  url: string,
  opts: { maxMs?: number; requestTimeoutMs?: number; retryClosedKeepAlive?: boolean } = {},
): { stop: () => Promise<LoopReport>; until: (seen: (report: LoopReport) => boolean, maxMs?: number) => Promise<void>; report: Readonly<LoopReport> } {
  const report: LoopReport = { ok: 0, failed: 0, retried: 0, errors: [], releases: new Map() };
  // A browser (and Go's or urllib3's client) sends an idempotent GET again, once, on a new
  // connection when the server closed the kept-alive one under it: nginx closes its idle
  // client connections on every reload, so a client racing that sees it. Opt-in, and counted.
  const fetchOnce = async (): Promise<Awaited<ReturnType<typeof get>>> => {
    try {
      return await get(url, opts.requestTimeoutMs ?? 5000);
    } catch (e) {
      if (!opts.retryClosedKeepAlive || !closedUnderRequest(e)) throw e;
      report.retried++;
      return get(url, opts.requestTimeoutMs ?? 5000);
    }
  };
  let running = true;
  const deadline = Date.now() + (opts.maxMs ?? 120_000);
  const loop = (async () => {
    while (running && Date.now() < deadline) {
      try {
        const r = await fetchOnce();
        if (r.status >= 200 && r.status < 300) {
          report.ok++;
          const rel = String(r.headers['x-gantry-release'] ?? JSON.parse(r.body).release);
          report.releases.set(rel, (report.releases.get(rel) ?? 0) + 1);
        } else {
          report.failed++;
          if (report.errors.length < 10) report.errors.push(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
        }
      } catch (e) {
        report.failed++;
        if (report.errors.length < 10) report.errors.push((e as Error).message);
      }
    }
  })();
  return {
    /** The figures so far (live). */
    report,
    /**
     * Wait (bounded, then return all the same: the assertions that follow say what is missing) until the
     * loop's report shows something, e.g. a release answered: a fixed sleep guesses how many requests a
     * loaded machine gets through.
     */
    until: async (seen, maxMs = 15_000) => {
      const until = Date.now() + maxMs;
      while (running && !seen(report) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    },
    stop: async () => {
      running = false;
      await loop;
      return report;
    },
  };
}
