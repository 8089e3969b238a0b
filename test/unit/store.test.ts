import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.js';

const fresh = () => new Store(join(mkdtempSync(join(tmpdir(), 'gantry-store-')), 'state.db'));

describe('Store', () => {
  it('migrates a new database to the latest version with WAL', () => {
    const s = fresh();
    expect(s.schemaVersion).toBeGreaterThanOrEqual(1);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    s.close();
  });

  it('records deployments with the seeds fields and steps', () => {
    const s = fresh();
    s.ensureTarget('app', 'local', 'process');
    s.insertDeployment({ id: 'd1', app: 'app', target: 'local', targetType: 'process', kind: 'deploy', actor: 't', platformConfig: { port: 1 } });
    s.updateDeployment('d1', { status: 'succeeded', accessUrl: 'http://x', externalId: '/r/1', registryImage: 'reg/app:1' });
    const d = s.getDeployment('d1')!;
    expect(d).toMatchObject({ status: 'succeeded', accessUrl: 'http://x', externalId: '/r/1', registryImage: 'reg/app:1', platformConfig: { port: 1 } });
    expect(d.finishedAt).toBeDefined();
    s.insertSteps('d1', [{ kind: 'build', params: {} }, { kind: 'record', params: {} }]);
    s.setStepStatus('d1', 0, 'done');
    expect(s.listSteps('d1').map((x) => x.status)).toEqual(['done', 'pending']);
    s.close();
  });

  it('a lock held by a live process is refused; a dead holder is stale and taken over', () => {
    const s = fresh();
    const me = { holder: 'me', pid: process.pid, host: 'h' };
    expect(s.tryLock('a', 't', me, () => true).held).toBeUndefined();
    expect(s.tryLock('a', 't', { ...me, holder: 'other' }, () => true).held?.holder).toBe('me');
    const r = s.tryLock('a', 't', { ...me, holder: 'other' }, () => false);
    expect(r.held).toBeUndefined();
    expect(r.stale?.holder).toBe('me');
    s.close();
  });
});
