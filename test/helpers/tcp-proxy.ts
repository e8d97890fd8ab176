import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP relay between the app and a real server (Redis, PostgreSQL) that a test can cut and
 * restore, to make the server disappear after the app has started, as an outage does.
 */
export interface TcpProxy {
  /** The relay's own port on 127.0.0.1; point the app at it instead of the server. */
  port: number;
  /** Ends every relayed connection abruptly and refuses new ones (ECONNREFUSED). */
  cut(): Promise<void>;
  /** Accepts and relays connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      const address = server.address();
      done(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/** Starts a relay on a free port to `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Resets are the point of this relay; they must never become uncaught errors.
    socket.on('error', () => socket.destroy());
  };
  const relay = (client: Socket) => {
    const upstream = createConnection({ host, port });
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  };
  let server = createServer(relay);
  const ownPort = await listen(server, 0);
  let listening = true;

  const stop = () =>
    new Promise<void>((done) => {
      if (!listening) {
        done();
        return;
      }
      listening = false;
      server.close(() => done());
      for (const socket of sockets) {
        socket.destroy();
      }
    });

  return {
    port: ownPort,
    cut: stop,
    async restore() {
      if (listening) {
        return;
      }
      server = createServer(relay);
      await listen(server, ownPort);
      listening = true;
    },
    close: stop,
  };
}

/** `url` with its host and port replaced by the relay's. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}
