import { Clock } from './clock';

/** A clock that stands still until told to move: for unit tests of expiry and lock rules. */
export class FakeClock extends Clock {
  constructor(private ms = Date.UTC(2026, 0, 1)) {
    super();
  }

  override now(): Date {
    return new Date(this.ms);
  }

  override nowMs(): number {
    return this.ms;
  }

  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}
