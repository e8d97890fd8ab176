import { setImmediate as endOfTurn } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AnswersPerTurn } from './answers-per-turn';

describe(AnswersPerTurn.name, () => {
  const request = {} as FastifyRequest;
  const reply = { raw: { destroy: jest.fn() } } as unknown as FastifyReply;
  const failed = jest.fn();

  afterEach(() => jest.clearAllMocks());

  /** Hands `payload` to the hook and records when the hook sends it on. */
  function answer(batching: AnswersPerTurn, sent: unknown[], payload: string): void {
    batching.onSend(request, reply, payload, (error, value) => {
      expect(error).toBeNull();
      sent.push(value);
    });
  }

  it('should send a lone answer at once', async () => {
    const batching = new AnswersPerTurn(failed);
    const sent: unknown[] = [];
    answer(batching, sent, 'a');
    expect(sent).toEqual(['a']);
    await endOfTurn();
    answer(batching, sent, 'b');
    expect(sent).toEqual(['a', 'b']);
  });

  it('should hold the answers of a turn after a busy one until its end, then send them in order', async () => {
    const batching = new AnswersPerTurn(failed);
    const sent: unknown[] = [];
    answer(batching, sent, 'a');
    answer(batching, sent, 'b'); // two in one turn: busy
    await endOfTurn();
    answer(batching, sent, 'c');
    answer(batching, sent, 'd');
    answer(batching, sent, 'e');
    expect(sent).toEqual(['a', 'b']);
    await endOfTurn();
    expect(sent).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('should go back to sending at once after a turn with a single answer', async () => {
    const batching = new AnswersPerTurn(failed);
    const sent: unknown[] = [];
    answer(batching, sent, 'a');
    answer(batching, sent, 'b');
    await endOfTurn();
    answer(batching, sent, 'c'); // held: the turn before was busy
    expect(sent).toEqual(['a', 'b']);
    await endOfTurn();
    expect(sent).toEqual(['a', 'b', 'c']);
    answer(batching, sent, 'd'); // the turn before had one answer
    expect(sent).toEqual(['a', 'b', 'c', 'd']);
  });

  it('should never leave an answer behind, whatever the pattern of turns', async () => {
    const batching = new AnswersPerTurn(failed);
    const sent: unknown[] = [];
    const expected: string[] = [];
    for (let turn = 0; turn < 200; turn++) {
      const count = Math.floor(Math.random() * 4);
      for (let i = 0; i < count; i++) {
        const payload = `${turn}.${i}`;
        expected.push(payload);
        answer(batching, sent, payload);
      }
      await endOfTurn();
      expect(sent).toEqual(expected);
    }
  });

  it('should send a lone answer at once when the busy turn before it is long over', async () => {
    const batching = new AnswersPerTurn(failed);
    const sent: unknown[] = [];
    answer(batching, sent, 'a');
    answer(batching, sent, 'b');
    await endOfTurn();
    await new Promise((done) => setTimeout(done, 30));
    answer(batching, sent, 'c');
    expect(sent).toEqual(['a', 'b', 'c']);
  });

  it('should close the connection of a held answer that cannot be written, and send the others', async () => {
    const batching = new AnswersPerTurn(failed);
    const sent: unknown[] = [];
    const broken = { raw: { destroy: jest.fn() } } as unknown as FastifyReply;
    const fault = new Error('Invalid character in header content');
    answer(batching, sent, 'a');
    answer(batching, sent, 'b');
    await endOfTurn();
    answer(batching, sent, 'c');
    batching.onSend(request, broken, 'd', () => {
      throw fault;
    });
    answer(batching, sent, 'e');
    await endOfTurn();
    expect(sent).toEqual(['a', 'b', 'c', 'e']);
    expect((broken.raw.destroy as jest.Mock).mock.calls).toHaveLength(1);
    expect((reply.raw.destroy as jest.Mock).mock.calls).toHaveLength(0);
    expect(failed).toHaveBeenCalledWith(fault);
  });
});
