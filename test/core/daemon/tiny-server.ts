import net from 'node:net';

/** A throwaway TCP server on a free loopback port, for error-path tests. */
export interface TinyServer {
  port: number;
  /** Sockets the server accepted, in order. */
  sockets: net.Socket[];
  /** Data each accepted socket received. */
  received: Buffer[];
  close(): Promise<void>;
}

export async function tinyServer(
  onConnection: (socket: net.Socket, index: number) => void,
): Promise<TinyServer> {
  const sockets: net.Socket[] = [];
  const received: Buffer[] = [];
  const server = net.createServer((s) => {
    const i = sockets.length;
    sockets.push(s);
    received.push(Buffer.alloc(0));
    s.on('data', (d: Buffer) => (received[i] = Buffer.concat([received[i]!, d])));
    s.on('error', () => undefined);
    onConnection(s, i);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sockets,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
