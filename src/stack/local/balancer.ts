/** A round-robin TCP balancer on loopback: how the local runtime puts several service replicas behind one address. */
import net from 'node:net';

export interface Balancer {
  port: number;
  close(): Promise<void>;
}

export function startBalancer(targets: () => number[], host = '127.0.0.1'): Promise<Balancer> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const ports = targets();
    const port = ports[next++ % Math.max(1, ports.length)];
    if (port === undefined) return client.destroy();
    const upstream = net.connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
