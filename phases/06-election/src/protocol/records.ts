/**
 * The `records` field of Produce requests and Fetch responses: RecordBatch v2s (phase 1's
 * `record-batch.ts`) laid end to end. Each batch announces its own length, so splitting
 * needs only two fields of each batch header:
 *
 * | bytes | field       | type | notes                                        |
 * | ----- | ----------- | ---- | -------------------------------------------- |
 * | 8     | baseOffset  | i64  | stamped by the broker                        |
 * | 4     | batchLength | i32  | bytes after this field; whole batch = 12 + N |
 * | N     | rest of the batch (epoch, magic, CRC, ..., records) |  |             |
 *
 * Splitting checks that each length fits in what is left and is at least a batch header;
 * it does not check CRCs (`validateBatch` does that, once, on the broker).
 */
import { BATCH_HEADER_BYTES, LOG_OVERHEAD } from '../log/record-batch.ts';
import { ErrorCode, ProtocolError } from './errors.ts';

/** Position of batchLength inside a batch. */
const BATCH_LENGTH_POSITION = 8;

/**
 * Split concatenated batches into zero-copy views, one per batch. Throws `ProtocolError`
 * (CORRUPT_MESSAGE) if a length is too small or runs past the end.
 * @example
 * for (const batch of splitBatches(fetchResponse.records[0])) decodeBatch(batch);
 */
export function splitBatches(records: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let position = 0;
  while (position < records.length) {
    const left = records.length - position;
    if (left < LOG_OVERHEAD) {
      throw new ProtocolError(`records: ${left} bytes at position ${position} are too few for a batch header`, ErrorCode.CORRUPT_MESSAGE);
    }
    const batchLength = records.readInt32BE(position + BATCH_LENGTH_POSITION);
    if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD || batchLength > left - LOG_OVERHEAD) {
      throw new ProtocolError(
        `records: batch at position ${position} claims batchLength ${batchLength} with ${left - LOG_OVERHEAD} bytes left`,
        ErrorCode.CORRUPT_MESSAGE,
      );
    }
    const end = position + LOG_OVERHEAD + batchLength;
    batches.push(records.subarray(position, end));
    position = end;
  }
  return batches;
}
