import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type Send = (error: null, payload: unknown) => void;

/** A turn that ended longer ago than this says nothing about the load now. */
const STALE_TURN_MS = 10;

/**
 * Under load, the answers produced during one turn of the event loop are handed to their sockets
 * together at the end of that turn (in `setImmediate`) instead of one by one as each is ready.
 * Writing a burst of answers back to back costs the kernel far less per answer than interleaving
 * each write with the reading and handling of the next request (docs/performance.md has the
 * figures). Nothing waits for anything but the end of the current turn, and the answers keep their
 * content and their order on each connection.
 *
 * An answer goes out at once when the last turn produced at most one answer, or ended more than
 * STALE_TURN_MS ago: a quiet service, one client at a time, pays no extra turn of latency.
 */
export class AnswersPerTurn {
  /** Held until the end of this turn, flat: [send, payload, reply, ...]. */
  private held: unknown[] = [];
  private answersThisTurn = 0;
  private busy = false;
  private lastTurnEnd = 0;
  private turnEndScheduled = false;
  private readonly endTurn = () => this.onTurnEnd();

  /** `onFailure`: an answer held to the end of the turn could not be written (its socket is closed). */
  constructor(private readonly onFailure: (error: unknown) => void) {}

  /** The onSend hook: hold the answer until the end of the turn, or send it now. */
  readonly onSend = (
    _request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    send: Send,
  ): void => {
    this.answersThisTurn += 1;
    if (!this.turnEndScheduled) {
      this.turnEndScheduled = true;
      setImmediate(this.endTurn);
    }
    if (this.busy && performance.now() - this.lastTurnEnd <= STALE_TURN_MS) {
      this.held.push(send, payload, reply);
    } else {
      send(null, payload);
    }
  };

  register(fastify: FastifyInstance): void {
    // Registered after every other onSend hook of the app: the payload is final.
    fastify.addHook('onSend', this.onSend);
  }

  private onTurnEnd(): void {
    this.turnEndScheduled = false;
    this.busy = this.answersThisTurn > 1;
    this.answersThisTurn = 0;
    this.lastTurnEnd = performance.now();
    const held = this.held;
    if (held.length === 0) {
      return;
    }
    this.held = [];
    for (let i = 0; i < held.length; i += 3) {
      try {
        (held[i] as Send)(null, held[i + 1]);
      } catch (error) {
        // Sent at once, Fastify would have answered 500; here the answer may be half written, so
        // its connection is closed, and the answers after it still go out.
        (held[i + 2] as FastifyReply).raw.destroy();
        this.onFailure(error);
      }
    }
  }
}
