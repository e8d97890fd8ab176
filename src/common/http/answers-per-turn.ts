import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type Send = (error: null, payload: unknown) => void;

/**
 * Under load, the answers produced during one turn of the event loop are handed to their sockets
 * together at the end of that turn (in `setImmediate`) instead of one by one as each is ready.
 * Writing a burst of answers back to back costs the kernel far less per answer than interleaving
 * each write with the reading and handling of the next request (docs/performance.md has the
 * figures: about a third less CPU per request for `/protected`). Nothing waits for anything but
 * the end of the current turn, and the answers keep their content and order per connection.
 *
 * When the previous turn produced at most one answer (a quiet service, one client at a time),
 * answers go out at once, so a lone request pays no extra turn of latency.
 */
export class AnswersPerTurn {
  /** Sends held until the end of this turn, with their payloads, flat: [send, payload, ...]. */
  private held: unknown[] = [];
  private answersThisTurn = 0;
  private busy = false;
  private turnEndScheduled = false;
  private readonly endTurn = () => this.onTurnEnd();

  /** The onSend hook: hold the answer until the end of the turn, or send it now. */
  readonly onSend = (
    _request: FastifyRequest,
    _reply: FastifyReply,
    payload: unknown,
    send: Send,
  ): void => {
    this.answersThisTurn += 1;
    if (!this.turnEndScheduled) {
      this.turnEndScheduled = true;
      setImmediate(this.endTurn);
    }
    if (this.busy) {
      this.held.push(send, payload);
    } else {
      send(null, payload);
    }
  };

  register(fastify: FastifyInstance): void {
    // Last of the onSend hooks: the payload is final.
    fastify.addHook('onSend', this.onSend);
  }

  private onTurnEnd(): void {
    this.turnEndScheduled = false;
    this.busy = this.answersThisTurn > 1;
    this.answersThisTurn = 0;
    const held = this.held;
    if (held.length === 0) {
      return;
    }
    this.held = [];
    for (let i = 0; i < held.length; i += 2) {
      (held[i] as Send)(null, held[i + 1]);
    }
  }
}
