/**
 * One proxied TCP connection: the client's socket, the upstream socket, and a Link for each
 * direction (upstream: client -> server, downstream: server -> client). A link reads its source,
 * runs the chunks through its toxics' stages, and writes its destination, pausing the source when
 * the destination or the stages hold too much (real TCP backpressure, no unbounded buffers).
 */
import type { Socket } from 'node:net';
import type { SlabReader } from './slab-reader.ts';
import { createStage, type EndKind, type Sink, type Stage, type StageHost } from './stages.ts';
import type { StreamDirection, Toxic } from './toxics.ts';

/** Bytes held by a link's stages above which the source is paused, and below which it resumes. */
const HIGH_WATER = 1 << 20;
const LOW_WATER = HIGH_WATER / 2;

/** Bytes a proxy received from each side and sent on, since it was created (GET /metrics). */
export interface TrafficCounters {
  received: Record<StreamDirection, number>;
  sent: Record<StreamDirection, number>;
}

export function newTrafficCounters(): TrafficCounters {
  return { received: { upstream: 0, downstream: 0 }, sent: { upstream: 0, downstream: 0 } };
}

export interface ConnectionEnv {
  now: () => number;
  random: () => number;
  /** Read both sockets through SlabReaders (default); false: plain 'data' events. */
  slabReads: boolean;
}

function destroySoon(s: Socket): void {
  if (s.destroyed) return;
  if (s.writable) {
    s.once('finish', () => s.destroy());
    s.end();
  } else s.destroy();
}

function reset(s: Socket): void {
  if (s.destroyed) return;
  if (s.connecting) s.destroy();
  else s.resetAndDestroy();
}

export class Link implements StageHost, Sink {
  readonly direction: StreamDirection;
  private readonly source: Socket;
  private readonly dest: Socket;
  private readonly conn: Connection;
  private readonly env: ConnectionEnv;
  private stages: Stage[] = [];
  private head: Sink = this;
  private held = 0;
  private waitingDrain = false;
  private ended = false;
  private inputEnded = false;
  private sourcePaused = false;
  private readonly reader: SlabReader | undefined;
  private readonly counters: TrafficCounters | undefined;

  constructor(
    direction: StreamDirection,
    source: Socket,
    dest: Socket,
    conn: Connection,
    env: ConnectionEnv,
    reader?: SlabReader,
    counters?: TrafficCounters,
  ) {
    this.direction = direction;
    this.counters = counters;
    this.reader = reader;
    this.source = source;
    this.dest = dest;
    this.conn = conn;
    this.env = env;
    dest.on('drain', () => {
      this.waitingDrain = false;
      this.maybeResume();
    });
  }

  /** Starts reading the source; call after the initial toxics are added. */
  start(): void {
    const counters = this.counters;
    const d = this.direction;
    if (this.reader) {
      this.reader.attach((chunk) => {
        if (counters) counters.received[d] += chunk.length;
        this.head.write(chunk);
        return !this.sourcePaused;
      });
    } else
      this.source.on('data', (chunk: Buffer) => {
        if (counters) counters.received[d] += chunk.length;
        this.head.write(chunk);
      });
    this.source.on('end', () => this.endInput('eof'));
  }

  /** Ends the input side (EOF, or the other direction closed the connection). */
  endInput(kind: EndKind): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    this.head.end(kind);
  }

  addToxic(toxic: Toxic): void {
    const stage = createStage(toxic, this, this.env.random() < toxic.toxicity, this.env.now, this.env.random);
    const last = this.stages[this.stages.length - 1];
    stage.next = this;
    if (last) last.next = stage;
    else this.head = stage;
    this.stages.push(stage);
    stage.start();
  }

  updateToxic(toxic: Toxic, toxicityChanged: boolean): void {
    const stage = this.stages.find((s) => s.toxic.name === toxic.name);
    if (!stage) return;
    stage.update(toxic);
    if (toxicityChanged) {
      if (this.env.random() < toxic.toxicity) stage.reactivate();
      else stage.detach('deactivate');
    }
  }

  removeToxic(name: string): void {
    const i = this.stages.findIndex((s) => s.toxic.name === name);
    const stage = this.stages[i];
    if (!stage) return;
    // Flush first (into the stage's next, still linked), then unlink: order is kept.
    stage.detach('remove');
    stage.dispose();
    const prev = this.stages[i - 1];
    if (prev) prev.next = stage.next;
    else this.head = stage.next;
    this.stages.splice(i, 1);
  }

  /** Stage timers off, held data dropped: the connection is gone. */
  dispose(): void {
    for (const s of this.stages) s.dispose();
    this.stages = [];
    this.head = this;
  }

  // --- the tail of the chain: writes the destination socket ---

  write(chunk: Buffer): void {
    if (this.ended || this.dest.destroyed) return;
    if (this.counters) this.counters.sent[this.direction] += chunk.length;
    if (!this.dest.write(chunk)) {
      this.waitingDrain = true;
      this.pauseSource();
    }
  }

  end(kind: EndKind): void {
    if (this.ended) return;
    this.ended = true;
    this.conn.directionEnded(this, kind);
  }

  // --- StageHost ---

  hold(bytes: number): void {
    this.held += bytes;
    if (this.held > HIGH_WATER) this.pauseSource();
  }

  release(bytes: number): void {
    this.held -= bytes;
    this.maybeResume();
  }

  private pauseSource(): void {
    this.sourcePaused = true;
    this.source.pause();
  }

  private maybeResume(): void {
    if (this.sourcePaused && !this.waitingDrain && this.held <= LOW_WATER) {
      this.sourcePaused = false;
      this.source.resume();
    }
  }

  get destination(): Socket {
    return this.dest;
  }
}

export class Connection {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly up: Link;
  readonly down: Link;
  private closedSockets = 0;
  private disposed = false;
  private readonly onGone: (c: Connection) => void;

  constructor(
    client: Socket,
    upstream: Socket,
    toxics: readonly Toxic[],
    env: ConnectionEnv,
    onGone: (c: Connection) => void,
    readers: { client?: SlabReader; upstream?: SlabReader } = {},
    counters?: TrafficCounters,
  ) {
    this.client = client;
    this.upstream = upstream;
    this.onGone = onGone;
    this.up = new Link('upstream', client, upstream, this, env, readers.client, counters);
    this.down = new Link('downstream', upstream, client, this, env, readers.upstream, counters);
    for (const t of toxics) this.linkFor(t.stream).addToxic(t);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('close', () => {
        this.closedSockets++;
        if (this.closedSockets === 2) this.dispose();
      });
    }
    // An error on one side (a reset, a broken pipe) ends the other side the same way.
    client.on('error', (e: NodeJS.ErrnoException) => this.abort(upstream, e));
    upstream.on('error', (e: NodeJS.ErrnoException) => this.abort(client, e));
    this.up.start();
    this.down.start();
  }

  linkFor(stream: StreamDirection): Link {
    return stream === 'upstream' ? this.up : this.down;
  }

  directionEnded(link: Link, kind: EndKind): void {
    const other = link === this.up ? this.down : this.up;
    const dest = link.destination;
    if (kind === 'eof') {
      // A half-close passes through as a half-close; the other direction carries on.
      if (!dest.destroyed) dest.end();
      return;
    }
    if (kind === 'reset') reset(dest);
    else destroySoon(dest);
    // The other direction loses its source (our destination): what it holds still goes out, then
    // its own destination is closed the same way (as Toxiproxy's links do).
    dest.pause();
    other.endInput(kind);
  }

  private abort(other: Socket, e: NodeJS.ErrnoException): void {
    if (e.code === 'ECONNRESET') reset(other);
    else other.destroy();
    this.client.destroy();
    this.upstream.destroy();
    this.dispose();
  }

  /** Closes both sockets now (proxy disabled or deleted, server closing). */
  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    this.dispose();
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.up.dispose();
    this.down.dispose();
    this.onGone(this);
  }
}
