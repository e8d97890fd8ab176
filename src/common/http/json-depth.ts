/**
 * Deepest nesting of arrays and objects a request body may have. Every DTO of the service is flat
 * or one level deep; 32 leaves room for extensions and stops bodies such as 5,000 nested arrays
 * (10 KB, under the size limit) before validation and transformation recurse into them.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether a parsed JSON value nests deeper than `maxDepth` (a scalar has depth 0, `[]` and `{}`
 * depth 1). Walks with its own stack, so the check itself cannot overflow the call stack.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') {
      continue;
    }
    if (depth + 1 > maxDepth) {
      return true;
    }
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        stack.push([child, depth + 1]);
      }
    }
  }
  return false;
}
