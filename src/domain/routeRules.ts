import { requirement, type Requirement } from './scopeExpression.js';

export type RouteMode = 'enforce' | 'audit';
export type RouteDefault = 'allow' | 'deny';
export interface RouteRule {
  methods: string[];
  path: string;
  require: string;
}
export interface RouteRules {
  mode: RouteMode;
  default: RouteDefault;
  rules: RouteRule[];
}

export const NO_ROUTE_RULES: RouteRules = Object.freeze({ mode: 'enforce', default: 'allow', rules: Object.freeze([]) as unknown as RouteRule[] }) as RouteRules;

export function routeRulesProblem(rules: RouteRules): string | undefined {
  void rules;
  return undefined;
}

export interface CompiledRoutes {
  readonly rules: RouteRules;
  readonly isEmpty: boolean;
  match(method: string, normalisedPath: string): { index: number; requirement: Requirement } | undefined;
}

export function compileRouteRules(rules: RouteRules): CompiledRoutes {
  return {
    rules,
    isEmpty: rules.rules.length === 0,
    match(method, path) {
      const index = rules.rules.findIndex((r) => (r.methods.includes('*') || r.methods.includes(method.toUpperCase())) && r.path.toLowerCase() === path.toLowerCase());
      return index < 0 ? undefined : { index, requirement: requirement(rules.rules[index].require) };
    },
  };
}
