import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth';

const nestedArrays = (levels: number): unknown =>
  JSON.parse('['.repeat(levels) + ']'.repeat(levels));

describe(nestsDeeperThan.name, () => {
  it('should give scalars depth 0 and empty containers depth 1', () => {
    expect(nestsDeeperThan('text', 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
    expect(nestsDeeperThan([], 0)).toBe(true);
    expect(nestsDeeperThan({}, 1)).toBe(false);
  });

  it('should accept exactly the limit and refuse one level more', () => {
    expect(nestsDeeperThan(nestedArrays(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nestedArrays(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
  });

  it('should find a deep value inside an object beside shallow ones', () => {
    const body = { email: 'a@example.com', password: { a: [1, { b: nestedArrays(40) }] } };
    expect(nestsDeeperThan(body, MAX_JSON_DEPTH)).toBe(true);
  });

  it('should walk 100,000 levels without overflowing the stack', () => {
    expect(nestsDeeperThan(nestedArrays(100_000), MAX_JSON_DEPTH)).toBe(true);
  });
});
