import { describe, expect, it } from 'vitest';
import { ClusterFileError, generateClusterFile, parseClusterFile } from '../src/replication/cluster-file.ts';

const brokers = [
  { id: 1, host: '127.0.0.1', port: 19092 },
  { id: 2, host: '127.0.0.1', port: 19093 },
  { id: 3, host: '127.0.0.1', port: 19094 },
];

const problemsOf = (data: unknown): readonly string[] => {
  try {
    parseClusterFile(data);
  } catch (e) {
    if (e instanceof ClusterFileError) return e.problems;
    throw e;
  }
  return [];
};

describe('parseClusterFile', () => {
  it('accepts the documented shape and fills the defaults', () => {
    expect(parseClusterFile({ brokers, topics: [{ name: 't', replicas: [[1, 2, 3], [2, 3, 1]] }], minInsyncReplicas: 2, replicaLagTimeMaxMs: 2000 })).toEqual({
      brokers,
      topics: [{ name: 't', replicas: [[1, 2, 3], [2, 3, 1]] }],
      minInsyncReplicas: 2,
      replicaLagTimeMaxMs: 2000,
    });
    expect(parseClusterFile({ brokers })).toMatchObject({ topics: [], minInsyncReplicas: 1, replicaLagTimeMaxMs: 2000 });
  });

  it.each([
    ['not an object', [], ['the file must hold a JSON object']],
    ['no brokers', { brokers: [] }, ['"brokers" must be a non-empty array']],
    ['duplicate ids and ports', { brokers: [brokers[0], { ...brokers[1], id: 1 }, { ...brokers[2], port: 19092 }] }, ['broker id 1 appears twice', 'address 127.0.0.1:19092 is given to two brokers']],
    ['bad broker fields', { brokers: [{ id: -1, host: '', port: 70000 }] }, ['brokers[0]: id must be an integer >= 0, host must be a non-empty string, port must be an integer in [1, 65535]']],
    ['unknown broker id', { brokers, topics: [{ name: 't', replicas: [[1, 4]] }] }, ['topic "t" partition 0: unknown broker id 4']],
    ['RF > brokers', { brokers: brokers.slice(0, 2), topics: [{ name: 't', replicas: [[1, 2, 3]] }] }, ['topic "t" partition 0: unknown broker id 3', 'topic "t" partition 0: replication factor 3 > 2 brokers']],
    ['minInsync > RF', { brokers, topics: [{ name: 't', replicas: [[1, 2]] }], minInsyncReplicas: 3 }, ['topic "t" partition 0: minInsyncReplicas 3 > replication factor 2']],
    ['a broker twice in one partition', { brokers, topics: [{ name: 't', replicas: [[1, 1]] }] }, ['topic "t" partition 0: a broker is listed twice in [1,1]']],
    ['bad topic name', { brokers, topics: [{ name: '../x', replicas: [[1]] }] }, ['topic "../x": name may only contain ASCII letters, digits, ".", "_" and "-"']],
    ['bad lag', { brokers, replicaLagTimeMaxMs: 0 }, ['"replicaLagTimeMaxMs" must be an integer in [1, 3600000], got 0']],
  ] as const)('says exactly what is wrong: %s', (_name, data, expected) => {
    expect(problemsOf(data)).toEqual(expected);
  });
});

describe('generateClusterFile', () => {
  it('rotates leaders over the brokers', () => {
    const c = generateClusterFile({ brokers: 3, basePort: 19092, topic: 'demo', partitions: 3 });
    expect(c.topics[0]?.replicas).toEqual([[1, 2, 3], [2, 3, 1], [3, 1, 2]]);
    expect(c.brokers.map((b) => b.port)).toEqual([19092, 19093, 19094]);
    expect(c.minInsyncReplicas).toBe(2);
  });
});
