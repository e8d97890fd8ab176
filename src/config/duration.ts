const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a duration given as whole seconds ("900") or with one unit suffix
 * ("15m", "14d", "10s", "1h"). Returns whole seconds, or undefined when the
 * text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d{1,9})\s*([smhd]?)\s*$/i.exec(text);
  if (!match) {
    return undefined;
  }
  const unit = match[2].toLowerCase() || 's';
  return Number(match[1]) * UNIT_SECONDS[unit];
}
