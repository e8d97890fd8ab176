import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';

/**
 * Which process answered a request, from facts of the operating system alone (Linux /proc): the
 * process that holds the server end of the request's TCP connection. Cluster workers share one
 * port and nothing in their answers tells them apart; this does, without a change to the service.
 */

const hexPort = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;

/** The socket inode of the server end of the connection from `clientPort` to `serverPort`. */
function serverEndInode(serverPort: number, clientPort: number): string | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (
        fields.length > 9 &&
        fields[1].endsWith(hexPort(serverPort)) &&
        fields[2].endsWith(hexPort(clientPort)) &&
        fields[9] !== '0'
      ) {
        return fields[9];
      }
    }
  }
  return undefined;
}

/** Of `pids`, the one holding the server end of the connection from `clientPort` to `serverPort`. */
export function ownerOf(
  serverPort: number,
  clientPort: number,
  pids: number[],
): number | undefined {
  const inode = serverEndInode(serverPort, clientPort);
  if (inode === undefined) {
    return undefined;
  }
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) {
          return pid;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

export interface OwnedAnswer {
  status: number;
  body: string;
  /** The pid, among the candidates, that answered; undefined when none of them holds the socket. */
  answeredBy: number | undefined;
}

/**
 * A GET on a connection of its own, kept open until the answer's owner is known: once the answer
 * has arrived, the process that wrote it holds the server end.
 */
export function getWithOwner(
  base: string,
  path: string,
  candidates: number[],
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<OwnedAnswer> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(path, base);
  const serverPort = Number(url.port);
  return new Promise<OwnedAnswer>((done, fail) => {
    const request = httpRequest(url, { agent, headers }, (response) => {
      const clientPort = request.socket?.localPort;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('error', fail);
      response.once('end', () =>
        done({
          status: response.statusCode ?? 0,
          body,
          answeredBy:
            clientPort === undefined ? undefined : ownerOf(serverPort, clientPort, candidates),
        }),
      );
    });
    request.once('error', fail);
    // A request never hangs a test: a silent server fails it.
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    request.end();
  }).finally(() => agent.destroy());
}
