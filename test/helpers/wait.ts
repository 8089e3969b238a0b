/**
 * State that converges after a command returns (a probe answering under load, a loop's next request)
 * is read until it holds, bounded, instead of once. The caller asserts on the last reading, so a
 * failure still shows what was seen.
 */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() >= deadline) return value;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}
