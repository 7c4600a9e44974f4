/**
 * Background jobs run by one live mount of the volume at a time (trash expiry, metadata
 * backups): a mount asks to claim a job when it thinks the job may be due; the claim is one
 * statement that succeeds for exactly one session per period, whichever host asks first.
 * A claimant that dies mid-run just means the job runs again a period later.
 */
import { statement } from './tx.js';
import type { MetaContext } from './context.js';

/** A job's row: who claimed it last, when (ms), and what its last run reported. */
export interface JobRecord {
  readonly name: string;
  readonly sid: number | undefined;
  readonly claimedAt: number;
  readonly info: unknown;
}

/**
 * Claims job `name` for this session if nobody claimed it in the last `everyMs`; true if
 * this session should run it now. `now` is injectable for tests.
 */
export async function claimJob(ctx: MetaContext, name: string, everyMs: number, now = Date.now()): Promise<boolean> {
  const row = await statement(() => ctx.db.insertInto('job')
    .values({ name, sid: ctx.sid ?? null, claimed_at: now, info: null })
    .onConflict((oc) => oc.column('name')
      .doUpdateSet((eb) => ({ sid: eb.ref('excluded.sid'), claimed_at: eb.ref('excluded.claimed_at') }))
      .where('job.claimed_at', '<=', BigInt(now - everyMs)))
    .returning('name')
    .executeTakeFirst(), ctx);
  return row !== undefined;
}

/** Stores what the last run of `name` reported (shown by status). */
export async function reportJob(ctx: MetaContext, name: string, info: unknown): Promise<void> {
  await statement(() => ctx.db.updateTable('job').set({ info: JSON.stringify(info) }).where('name', '=', name).execute(), ctx);
}

export async function listJobs(ctx: Pick<MetaContext, 'db'>): Promise<JobRecord[]> {
  const rows = await ctx.db.selectFrom('job').selectAll().orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, sid: r.sid === null ? undefined : Number(r.sid), claimedAt: Number(r.claimed_at), info: r.info }));
}
