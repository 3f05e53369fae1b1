import { Injectable, OnModuleInit, SetMetadata, Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { type Access, accessOf, AnyOperator } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';

export const WS_METHOD_KEY = 'palisade:ws-method';

export interface WsMethodOptions {
  /** Changes state: refused while the agent is frozen. Default true (fail closed). */
  mutates?: boolean;
  /** class-validator DTO for `params` (whitelisted, unknown fields refused). */
  params?: Type<object>;
}

export interface WsCallContext {
  principal: Principal;
  connectionId: string;
  remote: string;
}

export interface WsMethod {
  name: string;
  access: Access;
  mutates: boolean;
  params?: Type<object>;
  handler: (params: unknown, ctx: WsCallContext) => unknown;
}

/**
 * `@WsMethod('sessions.list', { mutates: false })` on a provider's method makes it callable over the
 * WebSocket. Its scope is declared the same way as a REST route's (`@RequireScope(...)`,
 * `@AnyOperator()`); without one it is admin-only.
 */
export const WsMethod = (name: string, options: WsMethodOptions = {}) =>
  SetMetadata(WS_METHOD_KEY, { name, ...options });

/** Every WebSocket method, from decorated providers and explicit `register` calls. */
@Injectable()
export class WsMethodRegistry implements OnModuleInit {
  private readonly methods = new Map<string, WsMethod>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.metatype) continue;
      const proto = Object.getPrototypeOf(instance) as object | null;
      if (!proto) continue;
      for (const key of this.scanner.getAllMethodNames(proto)) {
        const fn = (proto as Record<string, unknown>)[key] as (...a: unknown[]) => unknown;
        const meta = Reflect.getMetadata(WS_METHOD_KEY, fn) as
          ({ name: string } & WsMethodOptions) | undefined;
        if (!meta) continue;
        this.add({
          name: meta.name,
          access: accessOf(fn, proto.constructor),
          mutates: meta.mutates ?? true,
          params: meta.params,
          handler: (params, ctx) => fn.call(instance, params, ctx),
        });
      }
    }
  }

  /** For methods defined without a decorator; `access` undefined means admin-only. */
  register(method: Omit<WsMethod, 'access'> & { access?: Access }): void {
    this.add({ ...method, access: method.access ?? accessOf({}) });
  }

  private add(method: WsMethod): void {
    if (method.name === 'connect') throw new Error('`connect` is the handshake, not a method');
    if (this.methods.has(method.name)) throw new Error(`WebSocket method ${method.name} registered twice`);
    this.methods.set(method.name, method);
  }

  get(name: string): WsMethod | undefined {
    return this.methods.get(name);
  }

  list(): WsMethod[] {
    return [...this.methods.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Methods every connection has. */
@Injectable()
export class BuiltinWsMethods {
  @AnyOperator()
  @WsMethod('whoami', { mutates: false })
  whoami(_params: unknown, ctx: WsCallContext) {
    const p = ctx.principal;
    return { type: p.type, id: p.id, scopes: p.scopes };
  }
}
