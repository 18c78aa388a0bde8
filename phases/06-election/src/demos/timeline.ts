/**
 * Eager versus cooperative rebalancing, replayed on the real assignor: the `timeline`
 * command prints, generation by generation, which member consumes which partitions
 * while members join and leave, and counts how many partitions stop being consumed
 * during each rebalance. The writeup's timeline table comes from here. Pure.
 *
 * - eager (Kafka's classic protocol): at the start of every rebalance every member
 *   revokes everything it owns, so every partition stops until the new generation is
 *   assigned, even the ones that end up with the same member;
 * - cooperative (KIP-429, cooperative.ts): members keep what they keep; only a moving
 *   partition stops, from its revocation (round 1) until its new owner gets it in the
 *   follow-up round.
 */
import { assign, type Assignment } from '../groups/assignor.ts';
import { tpKey, type TopicPartition } from '../topics/partition.ts';
import { cooperativeRound } from '../groups/cooperative.ts';

/** A membership change: a member joins (`+a`) or leaves (`-a`). */
export interface MembershipChange {
  readonly join: boolean;
  readonly member: string;
}

/** One generation of the timeline. */
export interface TimelineRow {
  /** The change that started this rebalance (first round only). */
  readonly cause: string;
  readonly generation: number;
  /** What each member consumes during this generation. */
  readonly assignment: Assignment;
  /** Partitions that nobody consumed while this generation's rebalance ran. */
  readonly paused: number;
}

/**
 * Parse `+a,+b,-a` into membership changes.
 * @example parseChanges('+a,+b') // [{ join: true, member: 'a' }, { join: true, member: 'b' }]
 */
export function parseChanges(text: string): MembershipChange[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const sign = s[0];
      const member = s.slice(1);
      if ((sign !== '+' && sign !== '-') || member.length === 0) throw new RangeError(`bad change ${JSON.stringify(s)}: use +name or -name`);
      return { join: sign === '+', member };
    });
}

/**
 * Replay `changes` on `partitionCount` partitions of one topic with one protocol.
 * @example
 * timeline('cooperative', 6, parseChanges('+a,+b')).map((r) => r.paused); // [6, 0, 3]
 */
export function timeline(protocol: 'eager' | 'cooperative', partitionCount: number, changes: readonly MembershipChange[]): TimelineRow[] {
  const partitions: TopicPartition[] = Array.from({ length: partitionCount }, (_, p) => ({ topic: 't', partition: p }));
  const rows: TimelineRow[] = [];
  let owned: Assignment = new Map();
  let generation = 0;
  for (const change of changes) {
    const members = new Set(owned.keys());
    if (change.join) members.add(change.member);
    else members.delete(change.member);
    owned = new Map([...members].map((m) => [m, owned.get(m) ?? []]));
    const cause = `${change.join ? '+' : '-'}${change.member}`;
    if (protocol === 'eager') {
      // Everyone revokes everything before rejoining: all partitions pause. (The
      // assignor is still sticky, so most come back to the same member afterwards.)
      const next = assign([...members], owned, partitions);
      rows.push({ cause, generation: ++generation, assignment: next, paused: partitionCount });
      owned = next;
      continue;
    }
    for (let round = 0; ; round++) {
      const before = new Set([...owned.values()].flat().map(tpKey));
      const target = assign([...members], owned, partitions);
      const step = cooperativeRound(target, owned);
      // Paused during this rebalance: partitions owned by nobody before it (their owner
      // left, or revoked them last round) plus nothing else: kept partitions never stop.
      const paused = partitions.filter((tp) => !before.has(tpKey(tp))).length;
      rows.push({ cause: round === 0 ? cause : '(follow-up)', generation: ++generation, assignment: step.assignment, paused });
      owned = new Map([...step.assignment].map(([m, l]) => [m, [...l]]));
      if (step.pending.length === 0) break;
    }
  }
  return rows;
}

/**
 * Render rows as an aligned text table: one column per member, partitions as numbers.
 * @example formatTimeline(timeline('eager', 4, parseChanges('+a')))
 */
export function formatTimeline(rows: readonly TimelineRow[]): string[] {
  const members = [...new Set(rows.flatMap((r) => [...r.assignment.keys()]))].sort();
  const cell = (r: TimelineRow, m: string): string => {
    const list = r.assignment.get(m);
    return list === undefined ? '-' : `[${list.map((tp) => tp.partition).join(' ')}]`;
  };
  const header = ['gen', 'change', ...members, 'paused'];
  const body = rows.map((r) => [String(r.generation), r.cause, ...members.map((m) => cell(r, m)), String(r.paused)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  return [header, ...body].map((row) => row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}
