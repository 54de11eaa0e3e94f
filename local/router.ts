// Route keys as API Gateway HTTP APIs write them ("GET /tenants/{id}"; API Gateway Developer
// Guide, "Working with routes for HTTP APIs"): a method and a path whose `{name}` segments match
// one whole segment each. A literal segment wins over a parameter, as in API Gateway.
import type { RouteMatch } from './http-event.ts';

export interface Route<H> {
  readonly routeKey: string;
  readonly handler: H;
}

interface Compiled<H> {
  route: Route<H>;
  method: string;
  segments: string[];
}

export type RouteLookup<H> =
  | { kind: 'found'; route: Route<H>; match: RouteMatch }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

function segmentsOf(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export class Router<H> {
  readonly #routes: Compiled<H>[];

  constructor(routes: readonly Route<H>[]) {
    this.#routes = routes.map((route) => {
      const [method, path] = route.routeKey.split(' ');
      if (!method || !path?.startsWith('/')) throw new Error(`bad route key "${route.routeKey}"`);
      return { route, method: method.toUpperCase(), segments: segmentsOf(path) };
    });
  }

  get routeKeys(): string[] {
    return this.#routes.map((r) => r.route.routeKey);
  }

  lookup(method: string, path: string): RouteLookup<H> {
    const parts = segmentsOf(path);
    let best: { c: Compiled<H>; params: Record<string, string>; literals: number } | undefined;
    const allow = new Set<string>();
    for (const c of this.#routes) {
      if (c.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = c.segments[i]!;
        const part = parts[i]!;
        if (seg.startsWith('{') && seg.endsWith('}')) params[seg.slice(1, -1)] = decode(part);
        else if (seg === part) literals++;
        else ok = false;
      }
      if (!ok) continue;
      if (c.method !== method.toUpperCase()) {
        allow.add(c.method);
        continue;
      }
      if (!best || literals > best.literals) best = { c, params, literals };
    }
    if (best) return { kind: 'found', route: best.c.route, match: { routeKey: best.c.route.routeKey, pathParameters: best.params } };
    if (allow.size > 0) return { kind: 'method-not-allowed', allow: [...allow].sort() };
    return { kind: 'not-found' };
  }
}
