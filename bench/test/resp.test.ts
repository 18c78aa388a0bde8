import { describe, expect, it } from 'vitest';
import { encodeCommand, RespError, RespParser } from '../src/resp.ts';

describe('minimal RESP client', () => {
  it('encodes a command as an array of bulk strings', () => {
    expect(encodeCommand(['XADD', 'bench', '*', 'v', Buffer.from('héllo')]).toString('utf8')).toBe('*5\r\n$4\r\nXADD\r\n$5\r\nbench\r\n$1\r\n*\r\n$1\r\nv\r\n$6\r\nhéllo\r\n');
  });

  const replies = Buffer.from('+OK\r\n$15\r\n1700000000000-0\r\n:42\r\n-ERR wrong type\r\n$-1\r\n*2\r\n$1\r\na\r\n:7\r\n$0\r\n\r\n');

  function check(out: ReturnType<RespParser['push']>): void {
    expect(out).toHaveLength(7);
    expect(out[0]).toBe('OK');
    expect(String(out[1])).toBe('1700000000000-0');
    expect(out[2]).toBe(42);
    expect(out[3]).toBeInstanceOf(RespError);
    expect((out[3] as RespError).message).toBe('ERR wrong type');
    expect(out[4]).toBeNull();
    expect((out[5] as unknown[]).map(String)).toEqual(['a', '7']);
    expect(String(out[6])).toBe('');
  }

  it('parses every reply type from one chunk', () => {
    check(new RespParser().push(replies));
  });

  it('parses the same replies however the bytes are split into chunks', () => {
    for (let cut1 = 1; cut1 < replies.length; cut1++) {
      for (const cut2 of [cut1 + 1, cut1 + 7, replies.length - 1]) {
        if (cut2 <= cut1 || cut2 >= replies.length) continue;
        const p = new RespParser();
        const out = [...p.push(replies.subarray(0, cut1)), ...p.push(replies.subarray(cut1, cut2)), ...p.push(replies.subarray(cut2))];
        check(out);
      }
    }
  });

  it('rejects an unknown type byte', () => {
    expect(() => new RespParser().push(Buffer.from('?what\r\n'))).toThrow(RespError);
  });
});
