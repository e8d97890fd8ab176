import { Writable } from 'node:stream';
import { Logger } from '@nestjs/common';
import pino from 'pino';
import { AppLogger } from './logging.module';

/** An AppLogger over a pino logger that keeps its lines in memory. */
function capture(level = 'trace'): { lines: Record<string, unknown>[]; logger: AppLogger } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger: AppLogger = new AppLogger(pino({ level }, stream));
  return { lines, logger };
}

describe(AppLogger.name, () => {
  afterEach(() => {
    Logger.overrideLogger(false);
  });

  it("should write Nest's log calls as pino lines with their context and level", () => {
    const { lines, logger } = capture();
    Logger.overrideLogger(logger);
    const nest = new Logger('Bootstrap');
    nest.log('listening');
    nest.warn('careful');
    nest.debug('details');
    nest.verbose('more details');
    nest.fatal('gone');
    expect(lines.map((line) => [line.level, line.context, line.msg])).toEqual([
      [30, 'Bootstrap', 'listening'],
      [40, 'Bootstrap', 'careful'],
      [20, 'Bootstrap', 'details'],
      [10, 'Bootstrap', 'more details'],
      [60, 'Bootstrap', 'gone'],
    ]);
  });

  it('should keep the stack of an error call apart from its context', () => {
    const { lines, logger } = capture();
    Logger.overrideLogger(logger);
    new Logger('Errors').error('failed', 'Error: failed\n    at here');
    new Logger('Errors').error('failed without a stack');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        context: 'Errors',
        msg: 'failed',
        stack: 'Error: failed\n    at here',
      }),
      expect.objectContaining({ level: 50, context: 'Errors', msg: 'failed without a stack' }),
    ]);
    expect(lines[1]).not.toHaveProperty('stack');
  });

  it('should write nothing below the configured level', () => {
    const { lines, logger } = capture('warn');
    Logger.overrideLogger(logger);
    new Logger('Quiet').log('not written');
    new Logger('Quiet').warn('written');
    expect(lines.map((line) => line.msg)).toEqual(['written']);
  });
});
