/**
 * The agent gives each instance a port from the kernel, closed again before the instance binds it:
 * the kernel may hand the same port out again meanwhile. Two instances given one port pass each
 * other's health gate while the second crash-loops (seen in CI: a blue-green deploy of 3 "succeeded"
 * with 2 serving). The agent skips a port it already gave an instance.
 */
import { describe, expect, it } from 'vitest';
import { freePort, freePortExcept } from '../../src/agent/free-port.js';

describe('freePortExcept', () => {
  it('picks again while the kernel hands out a port an instance already holds', async () => {
    const picks = [4001, 4001, 4002, 4003];
    const port = await freePortExcept(() => new Set([4001, 4002]), '127.0.0.1', async () => picks.shift()!);
    expect(port).toBe(4003);
    expect(picks).toEqual([]);
  });

  it('gives up with a clear error rather than hand out a taken port', async () => {
    await expect(freePortExcept(() => new Set([6001]), '127.0.0.1', async () => 6001)).rejects.toThrow(/no free port on 127\.0\.0\.1 that no instance of this agent holds/);
  });

  it('with the kernel as the picker: a port that is free and not taken', async () => {
    const held = await freePort();
    const port = await freePortExcept(() => new Set([held]));
    expect(port).not.toBe(held);
    expect(port).toBeGreaterThan(0);
  });
});
