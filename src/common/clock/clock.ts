import { Global, Injectable, Module } from '@nestjs/common';

/**
 * The time, for every expiry, grace-window and lock computation: unit tests replace it to move
 * time instead of editing rows.
 */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }

  /** Milliseconds since the epoch. */
  nowMs(): number {
    return Date.now();
  }
}

@Global()
@Module({ providers: [Clock], exports: [Clock] })
export class ClockModule {}
