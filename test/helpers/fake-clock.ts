import { Clock } from '../../src/common/clock/clock';
import { FakeClock } from '../../src/common/clock/fake-clock';
import type { TestApp } from './test-app';

/**
 * Makes the app's one Clock (a global singleton, injected wherever expiry, grace windows and locks
 * are computed) stand still at `startMs` until the returned FakeClock is advanced. Every consumer
 * holds that same instance, so redirecting its methods is the same as overriding the provider.
 * Access tokens are still signed and verified on the real time (jsonwebtoken reads Date.now()):
 * moving this clock never expires one, it only moves sessions, grace windows and locks.
 */
export function fakeClockOf(t: TestApp, startMs = Date.now()): FakeClock {
  const fake = new FakeClock(startMs);
  const clock = t.app.get(Clock);
  clock.now = () => fake.now();
  clock.nowMs = () => fake.nowMs();
  return fake;
}
