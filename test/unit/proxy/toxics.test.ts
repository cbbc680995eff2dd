import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/proxy/api-error.ts';
import { joinHostPort, splitHostPort } from '../../../src/proxy/proxy.ts';
import { type EndKind, LatencyStage, LimitDataStage, sliceBounds } from '../../../src/proxy/stages.ts';
import { parseToxicCreate, parseToxicUpdate, type Toxic } from '../../../src/proxy/toxics.ts';

const none = () => false;

describe('parseToxicCreate', () => {
  it('fills Toxiproxy defaults and every attribute of the type', () => {
    expect(parseToxicCreate({ type: 'bandwidth' }, none)).toEqual({
      name: 'bandwidth_downstream',
      type: 'bandwidth',
      stream: 'downstream',
      toxicity: 1,
      attributes: { rate: 0 },
    });
    expect(
      parseToxicCreate({ type: 'slow_close', stream: 'UPSTREAM', attributes: { delay: 5, extra: 1 } }, none),
    ).toMatchObject({
      name: 'slow_close_upstream',
      stream: 'upstream',
      attributes: { delay: 5 },
    });
  });

  it('checks in Toxiproxy order: stream, type, duplicate name, attributes', () => {
    const err = (body: unknown, exists = none) => {
      try {
        parseToxicCreate(body, exists);
      } catch (e) {
        return e instanceof ApiError ? [e.status, e.message] : e;
      }
      return 'no error';
    };
    expect(err({ type: 'nope', stream: 'x' })).toEqual([
      400,
      'stream was invalid, can be either upstream or downstream',
    ]);
    expect(err({ type: 'nope', attributes: 5 })).toEqual([400, 'invalid toxic type']);
    expect(err({ type: 'latency', attributes: 5 }, () => true)).toEqual([409, 'toxic already exists']);
    expect(err({ type: 'latency', attributes: { latency: 'x' } })).toEqual([
      400,
      'bad request body: json: cannot unmarshal string into Go struct field .attributes.latency of type int64',
    ]);
    expect(
      (err({ type: 'slicer', attributes: { average_size: 3, size_variation: 4 } }) as unknown[])[0],
    ).toBe(400);
    expect(err({ type: 'slicer', attributes: { average_size: 3, size_variation: 2 } })).toBe('no error');
    // toxiproxy-node-client's own test "should add a slicer toxic"; Toxiproxy answers 200.
    expect(err({ type: 'slicer', attributes: { average_size: 1000, size_variation: 1000 } })).toBe(
      'no error',
    );
  });
});

describe('parseToxicUpdate', () => {
  const t: Toxic = {
    name: 'l',
    type: 'latency',
    stream: 'upstream',
    toxicity: 1,
    attributes: { latency: 9, jitter: 1 },
  };
  it('merges attributes and toxicity, ignores name, type and stream', () => {
    expect(
      parseToxicUpdate(t, { attributes: { jitter: 3 }, name: 'z', type: 'timeout', stream: 'downstream' }),
    ).toEqual({
      ...t,
      attributes: { latency: 9, jitter: 3 },
    });
    expect(parseToxicUpdate(t, { toxicity: 0 }).toxicity).toBe(0);
    expect(() => parseToxicUpdate(t, { toxicity: 1.5 })).toThrow(ApiError);
  });
});

describe('sliceBounds', () => {
  it('cuts into increasing bounds from 0 to length, pieces near the average size', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    for (const [len, avg, v] of [
      [1, 1, 0],
      [1000, 10, 0],
      [1000, 10, 9],
      [4096, 1, 0],
      [7, 100, 50],
      [2001, 1000, 1000],
      [65536, 1000, 1000],
      [5, 1, 1],
    ] as const) {
      const b = sliceBounds(len, avg, v, random);
      expect(b[0]).toBe(0);
      expect(b[b.length - 1]).toBe(len);
      for (let i = 1; i < b.length; i++) {
        const size = (b[i] as number) - (b[i - 1] as number);
        expect(size).toBeGreaterThan(0);
        expect(size).toBeLessThanOrEqual(Math.max(len < avg + v ? len : 0, avg + v));
      }
    }
    expect(sliceBounds(0, 10, 0, Math.random)).toEqual([0]);
  });
});

describe('addresses', () => {
  it('splits and joins host:port as Go does', () => {
    expect(splitHostPort('127.0.0.1:80')).toEqual({ host: '127.0.0.1', port: 80 });
    expect(splitHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(splitHostPort(':8474')).toEqual({ host: '', port: 8474 });
    expect(splitHostPort('postgres:5432')).toEqual({ host: 'postgres', port: 5432 });
    expect(splitHostPort('nohost')).toBeUndefined();
    expect(splitHostPort('h:70000')).toBeUndefined();
    expect(joinHostPort('::', 5)).toBe('[::]:5');
    expect(joinHostPort('10.0.0.1', 5)).toBe('10.0.0.1:5');
  });
});

describe('stages (no sockets)', () => {
  const sink = () => {
    const out: (Buffer | EndKind)[] = [];
    return { out, write: (c: Buffer) => out.push(c), end: (k: EndKind) => out.push(k) };
  };
  const host = { hold: () => {}, release: () => {} };
  const toxic = (type: Toxic['type'], attributes: Record<string, number>): Toxic => ({
    name: type,
    type,
    stream: 'downstream',
    toxicity: 1,
    attributes,
  });

  it('limit_data passes exactly N bytes, then closes', () => {
    const s = sink();
    const st = new LimitDataStage(toxic('limit_data', { bytes: 5 }), host, true);
    st.next = s;
    st.start();
    st.write(Buffer.from('abc'));
    st.write(Buffer.from('defg'));
    st.write(Buffer.from('h'));
    expect(s.out.map(String)).toEqual(['abc', 'de', 'close']);
  });

  it('an inactive stage (toxicity roll lost) passes everything through', () => {
    const s = sink();
    const st = new LatencyStage(
      toxic('latency', { latency: 10_000, jitter: 0 }),
      host,
      false,
      () => 0,
      Math.random,
    );
    st.next = s;
    st.start();
    st.write(Buffer.from('x'));
    st.end('eof');
    expect(s.out.map(String)).toEqual(['x', 'eof']);
  });

  it('latency detach flushes held chunks and the end, in order, and clears its timer', () => {
    const s = sink();
    const st = new LatencyStage(
      toxic('latency', { latency: 10_000, jitter: 0 }),
      host,
      true,
      () => 0,
      Math.random,
    );
    st.next = s;
    st.start();
    st.write(Buffer.from('a'));
    st.write(Buffer.from('b'));
    st.end('eof');
    expect(s.out).toEqual([]);
    st.detach('remove');
    expect(s.out.map(String)).toEqual(['a', 'b', 'eof']);
    st.dispose();
  });
});
