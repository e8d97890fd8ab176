import { Injectable } from '@nestjs/common';

interface RoutePattern {
  pattern: RegExp;
  methods: Set<string>;
}

function toPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) =>
      part.startsWith(':')
        ? '[^/]+'
        : part === '*'
          ? '.*'
          : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/**
 * The routes the HTTP server knows, so that a request with a known path and an unsupported method
 * gets 405 with `Allow` instead of 404.
 */
@Injectable()
export class RouteTable {
  private readonly routes = new Map<string, RoutePattern>();

  add(methods: string | string[], url: string): void {
    const entry = this.routes.get(url) ?? { pattern: toPattern(url), methods: new Set<string>() };
    for (const method of Array.isArray(methods) ? methods : [methods]) {
      entry.methods.add(method.toUpperCase());
    }
    this.routes.set(url, entry);
  }

  /** The methods allowed on a path (query string ignored); empty when the path is unknown. */
  allowedMethods(url: string): string[] {
    const path = url.split('?')[0];
    const allowed = new Set<string>();
    for (const { pattern, methods } of this.routes.values()) {
      if (pattern.test(path)) {
        methods.forEach((method) => allowed.add(method));
      }
    }
    return [...allowed].sort();
  }
}
