/**
 * Topic names become directory names, so the validator is a security boundary: these
 * tests pin the traversal attempts, the length bound at and past 249, non-ASCII input,
 * and (as a property) that every accepted name stays inside the data directory.
 */
import { join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { InvalidTopicError } from '../src/topics/errors.ts';
import {
  TOPIC_NAME_LENGTH_MAX,
  isInternalTopic,
  partitionDirName,
  topicNameProblem,
  validateTopicName,
} from '../src/topics/names.ts';

describe('topic name validation', () => {
  it.each([
    ['orders'],
    ['a'],
    ['Orders.v2_final-1'],
    ['...'],
    ['.hidden'],
    ['-'],
    ['__consumer_offsets'],
    ['x'.repeat(TOPIC_NAME_LENGTH_MAX)],
  ])('accepts %j', (name) => {
    expect(topicNameProblem(name)).toBeNull();
    expect(() => validateTopicName(name)).not.toThrow();
  });

  it.each([
    ['', /empty/],
    ['.', /directory/],
    ['..', /directory/],
    ['../x', /ASCII/],
    ['../../etc/passwd', /ASCII/],
    ['a/b', /ASCII/],
    ['a\\b', /ASCII/],
    ['/abs', /ASCII/],
    ['a b', /ASCII/],
    ['a\0b', /ASCII/],
    ['tab\there', /ASCII/],
    ['line\n', /ASCII/],
    ['café', /ASCII/],
    ['Ωmega', /ASCII/],
    ['emoji😀', /ASCII/],
    ['ａｂｃ', /ASCII/], // full-width letters look like ASCII and are not
    ['x'.repeat(TOPIC_NAME_LENGTH_MAX + 1), /longer than 249/],
    ['x'.repeat(10_000), /longer than 249/],
  ])('rejects %j with a typed error', (name, reason) => {
    expect(topicNameProblem(name)).toMatch(reason);
    let caught: unknown;
    try {
      validateTopicName(name);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidTopicError);
    expect((caught as InvalidTopicError).code).toBe('INVALID_TOPIC_EXCEPTION');
    expect((caught as InvalidTopicError).kafkaErrorCode).toBe(17);
    expect((caught as InvalidTopicError).topic).toBe(name);
  });

  it('every accepted name maps to a partition directory directly inside the data dir', () => {
    const dataDir = resolve('/var/lib/commitlog');
    const legalChar = fc.constantFrom(...'abcXYZ019._-'.split(''));
    const anyName = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: legalChar, maxLength: 300 }), fc.constantFrom('.', '..', '../x'));
    fc.assert(
      fc.property(anyName, fc.nat(999), (name, partition) => {
        if (topicNameProblem(name) !== null) {
          expect(() => partitionDirName(name, partition)).toThrow(InvalidTopicError);
          return;
        }
        const path = resolve(join(dataDir, partitionDirName(name, partition)));
        expect(path.startsWith(dataDir + sep)).toBe(true);
        expect(path.slice(dataDir.length + 1)).toBe(`${name}-${partition}`);
      }),
      { seed: propertySeed(), numRuns: 2000 },
    );
  });

  it('names starting with two underscores are internal', () => {
    expect(isInternalTopic('__consumer_offsets')).toBe(true);
    expect(isInternalTopic('__')).toBe(true);
    expect(isInternalTopic('_orders')).toBe(false);
    expect(isInternalTopic('orders__')).toBe(false);
  });

  it('partition directories are named <topic>-<partition>', () => {
    expect(partitionDirName('orders', 0)).toBe('orders-0');
    expect(partitionDirName('a.b', 12)).toBe('a.b-12');
    expect(() => partitionDirName('orders', -1)).toThrow(RangeError);
    expect(() => partitionDirName('orders', 1.5)).toThrow(RangeError);
  });
});
