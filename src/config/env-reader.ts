import { ConfigError } from './config.error';
import { parseDuration } from './duration';

export type Env = Readonly<Record<string, string | undefined>>;

/** Typed, validating accessors over an environment; every failure names the variable. */
export class EnvReader {
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  }

  string(name: string, fallback: string, maxLength = 512): string {
    const value = this.raw(name)?.trim() ?? fallback;
    if (value.length > maxLength) {
      throw new ConfigError(name, `must be at most ${maxLength} characters`);
    }
    return value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const text = this.raw(name);
    if (text === undefined) {
      return fallback;
    }
    if (!/^\s*\d+\s*$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${text}"`);
    }
    return Number(text);
  }

  /** Seconds, from "900" or "15m" / "14d"; `min` and `max` in seconds. */
  duration(name: string, fallback: string, min: number, max: number): number {
    const text = this.raw(name) ?? fallback;
    const seconds = parseDuration(text);
    if (seconds === undefined) {
      throw new ConfigError(
        name,
        `must be a duration in seconds or with a unit (s, m, h, d) such as 15m, got "${text}"`,
      );
    }
    if (seconds < min || seconds > max) {
      throw new ConfigError(name, `must be between ${min} and ${max} seconds, got "${text}"`);
    }
    return seconds;
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.raw(name)?.trim().toLowerCase();
    if (text === undefined) {
      return fallback;
    }
    if (['true', '1', 'yes', 'on'].includes(text)) {
      return true;
    }
    if (['false', '0', 'no', 'off'].includes(text)) {
      return false;
    }
    throw new ConfigError(name, `must be true or false, got "${text}"`);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const text = this.raw(name)?.trim() ?? fallback;
    if (!(allowed as readonly string[]).includes(text)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${text}"`);
    }
    return text as T;
  }
}
