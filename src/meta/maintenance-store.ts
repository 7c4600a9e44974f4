/** MetaMaintenance over the engine's context: scans on a pinned connection, repairs in transactions. */
import { sql } from 'kysely';
import { PinnedScan } from './maintenance-scan.js';
import * as repair from './repair.js';
import type { MetaContext } from './context.js';
import type { MaintenanceScan, MetaMaintenance, RepairResult } from './maintenance.js';

export class MaintenanceStore implements MetaMaintenance {
  readonly #ctx: MetaContext;

  constructor(ctx: MetaContext) {
    this.#ctx = ctx;
  }

  scan<T>(fn: (scan: MaintenanceScan) => Promise<T>): Promise<T> {
    return this.#ctx.db.connection().execute(async (conn) => {
      try {
        return await fn(new PinnedScan(conn));
      } finally {
        // The connection goes back to the pool: its temporary tables must not go with it.
        await sql`DISCARD TEMP`.execute(conn).catch(() => undefined);
      }
    });
  }

  repairLinkCount(ino: number): Promise<RepairResult> { return repair.repairLinkCount(this.#ctx, ino); }
  moveToLostFound(ino: number): Promise<RepairResult> { return repair.moveToLostFound(this.#ctx, ino); }
  repairUsage(): Promise<RepairResult> { return repair.repairUsage(this.#ctx); }
  repairSliceRefs(slices: readonly { readonly id: number; readonly size: number }[]): Promise<Map<number, RepairResult>> {
    return repair.repairSliceRefs(this.#ctx, slices);
  }
  namedSliceIds(ids: readonly number[]): Promise<Set<number>> { return repair.namedSliceIds(this.#ctx, ids); }
}
