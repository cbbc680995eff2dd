/** Real TCP servers and clients on loopback for the proxy's integration tests. */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface TestServer {
  port: number;
  /** Server-side sockets, in accept order. */
  sockets: net.Socket[];
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1:0 whose connections `onConnection` handles; close() destroys them all. */
export async function tcpServer(onConnection: (s: net.Socket) => void): Promise<TestServer> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** Echoes everything back and half-closes when the client does. */
export const echoServer = () =>
  tcpServer((s) => {
    s.setNoDelay(true);
    s.pipe(s);
  });

export interface Client {
  socket: net.Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Number of 'data' events so far. */
  chunks(): number;
  /** Resolves when at least n bytes have arrived (rejects on close before). */
  waitBytes(n: number, timeoutMs?: number): Promise<Buffer>;
  /** Resolves on close with how it ended: 'end' (FIN), the error code (ECONNRESET...), or 'close'. */
  closed: Promise<string>;
  /** Time (performance.now()) of the FIN, if one came. */
  endedAt(): number | undefined;
}

export function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const parts: Buffer[] = [];
    let count = 0;
    let endedAt: number | undefined;
    let how = 'close';
    const waiters = new Set<() => void>();
    socket.on('data', (c: Buffer) => {
      parts.push(c);
      count++;
      for (const w of [...waiters]) w();
    });
    socket.on('end', () => {
      endedAt = performance.now();
      how = 'end';
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      how = e.code ?? e.message;
    });
    const closed = new Promise<string>((r) =>
      socket.on('close', () => {
        for (const w of [...waiters]) w();
        r(how);
      }),
    );
    const received = () => Buffer.concat(parts);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        received,
        chunks: () => count,
        closed,
        endedAt: () => endedAt,
        waitBytes: (n, timeoutMs = 5000) =>
          new Promise((res, rej) => {
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`timed out waiting for ${n} bytes (got ${received().length})`));
            }, timeoutMs);
            const check = () => {
              const got = received();
              if (got.length >= n) {
                clearTimeout(timer);
                waiters.delete(check);
                res(got);
              } else if (socket.destroyed) {
                clearTimeout(timer);
                waiters.delete(check);
                rej(new Error(`closed after ${got.length} of ${n} bytes`));
              }
            };
            waiters.add(check);
            check();
          }),
      });
    });
  });
}

/** One round trip through an echo: ms from write to the last byte back. */
export async function roundTrip(c: Client, bytes = 16): Promise<number> {
  const before = c.received().length;
  const t0 = performance.now();
  c.socket.write(Buffer.alloc(bytes, 0x61));
  await c.waitBytes(before + bytes);
  return performance.now() - t0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

/** Active timers of this process (Timeout resources), for leak checks. */
export function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Polls `cond` until true or `ms` pass; returns its last value. */
export async function eventually(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await sleep(10);
  return cond();
}
