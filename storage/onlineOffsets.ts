// The online_offsets table (sql/0013): per partition of the snapshot topic, the offset below which
// every snapshot's decision is committed. Written in the decision batch's own transaction, so the
// offset and the changes it covers commit together.
import type pg from 'pg';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface OffsetKey {
  stream: string;
  groupId: string;
  topic: string;
  partition: number;
}

/** The committed next offset of a partition, or null when no decision batch has committed there yet. */
export async function decidedOffset(q: Queryable, k: OffsetKey): Promise<bigint | null> {
  const { rows } = await q.query<{ next_offset: string }>(
    `SELECT next_offset::text AS next_offset FROM online_offsets
      WHERE stream = $1 AND group_id = $2 AND topic = $3 AND partition = $4`,
    [k.stream, k.groupId, k.topic, k.partition],
  );
  return rows[0] ? BigInt(rows[0].next_offset) : null;
}

/**
 * Moves the partition's offset from `expected` (null: no row yet) to `next`; false when another owner
 * moved it first (the row is locked until the caller's transaction ends, so two owners cannot both win).
 */
export async function advanceOffset(
  c: Queryable,
  k: OffsetKey,
  expected: bigint | null,
  next: bigint,
): Promise<boolean> {
  const params = [k.stream, k.groupId, k.topic, k.partition, next.toString()];
  const r =
    expected === null
      ? await c.query(
          `INSERT INTO online_offsets (stream, group_id, topic, partition, next_offset)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
          params,
        )
      : await c.query(
          `UPDATE online_offsets SET next_offset = $5, updated_at = now()
            WHERE stream = $1 AND group_id = $2 AND topic = $3 AND partition = $4 AND next_offset = $6`,
          [...params, expected.toString()],
        );
  return (r.rowCount ?? 0) === 1;
}
