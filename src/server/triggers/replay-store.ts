import type { Kysely } from 'kysely';
import { DEFAULTS } from '../../core/defaults.js';
import { dialectOf } from '../jobs-lease/table.js';

/**
 * Webhook delivery ids already seen, to refuse a replayed delivery. `remember` is atomic: of two
 * concurrent deliveries with the same id exactly one gets true. Ids are kept for keptMs
 * (DEFAULTS.gitTrigger.deliveryIdsKeptMs), then forgotten.
 */
export interface ReplayStore {
  /** True when the id was not seen (and is now remembered); false for a replay. */
  remember(scope: string, deliveryId: string, now?: number): Promise<boolean>;
  /** Forget an id whose delivery could not be acted on, so the sender's redelivery (same id) is taken. */
  forget(scope: string, deliveryId: string): Promise<void>;
}

/** For one server process without a shared store (and tests). Bounded: expired ids are pruned. */
export class MemoryReplayStore implements ReplayStore {
  private readonly seen = new Map<string, number>();
  constructor(private readonly keptMs: number = DEFAULTS.gitTrigger.deliveryIdsKeptMs) {}

  async remember(scope: string, deliveryId: string, now = Date.now()): Promise<boolean> {
    this.prune(now);
    const key = `${scope}\n${deliveryId}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, now);
    return true;
  }

  async forget(scope: string, deliveryId: string): Promise<void> {
    this.seen.delete(`${scope}\n${deliveryId}`);
  }

  private prune(now: number): void {
    // Insertion order is time order: stop at the first id still kept.
    for (const [key, at] of this.seen) {
      if (now - at < this.keptMs) break;
      this.seen.delete(key);
    }
  }
}

/**
 * In the server's store (SQLite or PostgreSQL), shared by every replica. Table (createReplayTable):
 * webhook_deliveries(scope text, delivery_id text, seen_at bigint epoch ms, primary key (scope, delivery_id)).
 * `remember` is one INSERT … ON CONFLICT DO NOTHING: the primary key decides which delivery wins.
 */
export class KyselyReplayStore implements ReplayStore {
  constructor(
    private readonly db: Kysely<any>,
    private readonly keptMs: number = DEFAULTS.gitTrigger.deliveryIdsKeptMs,
    private readonly table = 'webhook_deliveries',
  ) {}

  async remember(scope: string, deliveryId: string, now = Date.now()): Promise<boolean> {
    await this.db.deleteFrom(this.table).where('seen_at', '<', now - this.keptMs).execute();
    const res = await this.db
      .insertInto(this.table)
      .values({ scope, delivery_id: deliveryId, seen_at: now })
      .onConflict((oc) => oc.columns(['scope', 'delivery_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async forget(scope: string, deliveryId: string): Promise<void> {
    await this.db.deleteFrom(this.table).where('scope', '=', scope).where('delivery_id', '=', deliveryId).execute();
  }
}

export async function createReplayTable(db: Kysely<any>, table = 'webhook_deliveries'): Promise<void> {
  const postgres = dialectOf(db) === 'postgres';
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('seen_at', postgres ? 'bigint' : 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint(`${table}_pk`, ['scope', 'delivery_id'])
    .execute();
  await db.schema.createIndex(`${table}_seen_idx`).ifNotExists().on(table).column('seen_at').execute();
}
