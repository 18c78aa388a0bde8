/**
 * `demo`: the phase in one narrated run, on a real log in a temporary directory that is
 * removed at the end. It appends batches with a tiny segment size so the log rolls,
 * shows the files and the sparse index, reads from the middle, then simulates a crash
 * in the middle of an append: it writes only the first bytes of the next batch to the
 * active segment, as a power cut during `write` would leave them, without that append
 * ever being acknowledged. Reopening runs recovery, which cuts the file back to the last
 * whole batch, and the next append reuses the offset the torn batch never got.
 * It drives the same `Log` the CLI uses, plus `inspect.ts` to look at the files.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectLogDir, type SegmentView } from './inspect.ts';
import { Log, type LogConfig } from '../log/log.ts';
import { encodeBatch } from '../log/record-batch.ts';
import { FsStorage } from '../seams/storage.ts';

/** Small enough that a dozen short records roll the log into several segments. */
const DEMO_CONFIG: Partial<LogConfig> = { segmentBytesMax: 512, indexIntervalBytes: 128 };
const DEMO_BATCHES = 6;
const DEMO_RECORDS_PER_BATCH = 2;
/** How much of the last batch reaches the disk before the simulated crash. */
const DEMO_TORN_BYTES = 70;

/**
 * Run the narrated walk-through, writing each line of narration to `say`.
 * @example
 * await runDemo((line) => process.stdout.write(line + '\n'));
 */
export async function runDemo(say: (line: string) => void): Promise<void> {
  const storage = new FsStorage();
  const dir = await mkdtemp(join(tmpdir(), 'commitlog-demo-'));
  try {
    say(`A commit log in ${dir} (removed at the end).`);
    say(`segmentBytesMax=${DEMO_CONFIG.segmentBytesMax}, indexIntervalBytes=${DEMO_CONFIG.indexIntervalBytes}: tiny, so the log rolls.`);
    say('');
    say(`1. Append ${DEMO_BATCHES} batches of ${DEMO_RECORDS_PER_BATCH} records; each is one write + one fsync, then acknowledged.`);
    let log = await Log.open(storage, dir, DEMO_CONFIG);
    const acked: string[] = [];
    for (let b = 0; b < DEMO_BATCHES; b++) {
      const values = Array.from({ length: DEMO_RECORDS_PER_BATCH }, (_, i) => `event-${b * DEMO_RECORDS_PER_BATCH + i}`);
      const { baseOffset, lastOffset } = await log.append(values.map((v) => ({ key: null, value: Buffer.from(v) })));
      acked.push(`[${baseOffset}..${lastOffset}]`);
      if (lastOffset - baseOffset + 1 !== values.length) throw new Error('demo: the log assigned a wrong number of offsets');
    }
    say(`   acknowledged offsets ${acked.join(' ')}; log end offset = ${log.logEndOffset}`);
    await log.close();

    say('');
    say('2. The files: one .log (batches) and one sparse .index per segment, named by base offset.');
    let view = await inspectLogDir(storage, dir);
    for (const s of view.segments) say(`   ${describeSegment(s)}`);

    say('');
    const from = Math.min(5, DEMO_BATCHES * DEMO_RECORDS_PER_BATCH - 1);
    const holder = view.segments.filter((s) => s.baseOffset <= from).at(-1);
    const entry = holder?.indexEntries.filter((e) => e.offset <= from).at(-1);
    say(`3. Read from offset ${from}: segment ${holder?.baseOffset ?? '?'}, index entry ${entry === undefined ? 'none (start at byte 0)' : `${entry.offset}->${entry.position}`},`);
    say(`   then walk batch headers from that byte to the batch holding ${from}:`);
    log = await Log.open(storage, dir, DEMO_CONFIG);
    const records = (await log.readRecords(from, 256)).slice(0, 3);
    say(`   ${records.map((r) => `${r.offset}=${r.value?.toString() ?? 'null'}`).join('  ')}`);
    const endBefore = log.logEndOffset;
    await log.close();

    const active = view.segments.at(-1);
    if (active === undefined) throw new Error('demo: no segment was written');
    const activePath = join(dir, active.logName);
    const next = encodeBatch([{ key: null, value: Buffer.from('lost-1') }, { key: null, value: Buffer.from('lost-2') }], { baseOffset: endBefore });
    const torn = next.subarray(0, Math.min(DEMO_TORN_BYTES, next.length - 1));
    say('');
    say(`4. Crash: the next append (offsets ${endBefore}..${endBefore + 1}, ${next.length} bytes) is being written when`);
    say(`   the power fails; only ${torn.length} bytes reach ${active.logName}. It was never acknowledged.`);
    const file = await storage.openFile(activePath);
    await file.append(torn);
    await file.close();
    view = await inspectLogDir(storage, dir);
    const tornView = view.segments.at(-1);
    say(`   ${active.logName}: ${active.logBytes} -> ${tornView?.logBytes ?? '?'} bytes; dump sees: ${tornView?.tail?.reason ?? 'no torn tail?'}`);

    say('');
    say('5. Reopen: recovery checks the active segment batch by batch (length, CRC-32C, offsets)');
    say('   and truncates it at the first batch that fails.');
    log = await Log.open(storage, dir, DEMO_CONFIG);
    const cut = log.recoveryReport.truncated;
    say(`   recovery cut ${cut?.bytes ?? 0} bytes at byte ${cut?.position ?? '?'} of ${active.logName}: ${cut?.reason ?? 'nothing to cut?'}`);
    say(`   log end offset = ${log.logEndOffset} (it was ${endBefore} before the crash)`);
    const again = await log.append([{ key: null, value: Buffer.from('after-crash') }]);
    say(`   the next append gets offset ${again.baseOffset}: no gap, no duplicate, nothing torn visible.`);
    const all = await log.readRecords(log.logStartOffset, 1 << 20);
    const intact = all.filter((r, i) => r.offset === i && r.value?.toString() === (i < endBefore ? `event-${i}` : 'after-crash'));
    say(`   read back ${all.length} records, ${intact.length} intact and in order: every acknowledged record survived.`);
    await log.close();

    say('');
    say('Your turn (in another directory):');
    say('   seq 1 1000 | npm run phase 1 -- append --dir /tmp/mylog --batch 100 --segment-bytes 4096');
    say('   npm run phase 1 -- read --dir /tmp/mylog --from 990');
    say('   npm run phase 1 -- dump --dir /tmp/mylog | less');
  } finally {
    await storage.remove(dir);
  }
}

function describeSegment(s: SegmentView): string {
  const first = s.batches[0];
  const last = s.batches.at(-1);
  const range = first === undefined || last === undefined ? 'empty' : `offsets ${first.header.baseOffset}..${last.header.baseOffset + last.header.lastOffsetDelta}`;
  const entries = s.indexEntries.map((e) => `${e.offset}->${e.position}`).join(', ');
  const index = s.indexName === null ? 'no index' : `${s.indexName} ${s.indexBytes} B [${entries}]`;
  return `${s.logName} ${s.logBytes} B, ${s.batches.length} batch${s.batches.length === 1 ? '' : 'es'}, ${range} | ${index}`;
}
