/**
 * The triggers' ReplayStore on the server's own hook_deliveries table (SQLite or PostgreSQL,
 * shared by every replica): a delivery id is remembered by one INSERT … ON CONFLICT DO NOTHING
 * on its primary key, so of two concurrent deliveries with one id exactly one is taken.
 */
import type { Kysely } from 'kysely';
import { DEFAULTS } from '../../core/defaults.js';
import type { ServerDatabase } from '../db/schema.js';
import type { ReplayStore } from '../triggers/index.js';

const key = (scope: string, deliveryId: string): string => `${scope}:${deliveryId}`;
/** hook_deliveries.app holds the app of a `git:<app>` scope. */
const appOf = (scope: string): string => scope.replace(/^git:/, '').slice(0, 64);

export class HookDeliveryStore implements ReplayStore {
  constructor(
    private readonly db: Kysely<ServerDatabase>,
    private readonly keptMs: number = DEFAULTS.gitTrigger.deliveryIdsKeptMs,
  ) {}

  async remember(scope: string, deliveryId: string, now = Date.now()): Promise<boolean> {
    await this.db.deleteFrom('hook_deliveries').where('received_at', '<', new Date(now - this.keptMs).toISOString()).execute();
    const res = await this.db
      .insertInto('hook_deliveries')
      .values({ id: key(scope, deliveryId), app: appOf(scope), received_at: new Date(now).toISOString(), status: 202 })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async forget(scope: string, deliveryId: string): Promise<void> {
    await this.db.deleteFrom('hook_deliveries').where('id', '=', key(scope, deliveryId)).execute();
  }
}
