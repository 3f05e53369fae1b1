import { Injectable, RequestMethod, Type } from '@nestjs/common';
import {
  METHOD_METADATA,
  PATH_METADATA,
  PARAMTYPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { type Access, accessOf, allowsWhileFrozen } from './auth.decorators';

export interface RouteInfo {
  method: string;
  /** Express pattern, e.g. /api/auth/api-keys/:id */
  path: string;
  controller: string;
  handler: string;
  access: Access;
  allowWhileFrozen: boolean;
  body?: Type<unknown>;
  query?: Type<unknown>;
  params: string[];
}

const joinPath = (...parts: string[]) =>
  '/' +
  parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/');

/**
 * Every HTTP route of the running application, with what it declares: read from Nest's own metadata,
 * so a route added anywhere in the module tree shows up here (the scope matrix test and the OpenAPI
 * document are built from this list).
 */
@Injectable()
export class RouteCatalog {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  routes(): RouteInfo[] {
    const out: RouteInfo[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const klass = wrapper.metatype as Type<unknown> | undefined;
      if (!klass?.prototype) continue;
      const bases = [Reflect.getMetadata(PATH_METADATA, klass) ?? ''].flat() as string[];
      for (const name of this.scanner.getAllMethodNames(klass.prototype)) {
        const fn = (klass.prototype as Record<string, unknown>)[name] as (...a: unknown[]) => unknown;
        const paths = Reflect.getMetadata(PATH_METADATA, fn) as string | string[] | undefined;
        if (paths === undefined) continue;
        const verb = RequestMethod[Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod] ?? 'GET';
        const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, klass, name) ?? {}) as Record<
          string,
          { index: number; data?: unknown }
        >;
        const types = (Reflect.getMetadata(PARAMTYPES_METADATA, klass.prototype, name) ??
          []) as Type<unknown>[];
        const argOf = (kind: RouteParamtypes) =>
          Object.entries(args)
            .filter(([key]) => key.split(':')[0] === String(kind))
            .map(([, v]) => v);
        const body = argOf(RouteParamtypes.BODY).find((a) => a.data === undefined);
        const query = argOf(RouteParamtypes.QUERY).find((a) => a.data === undefined);
        for (const base of bases) {
          for (const path of [paths].flat()) {
            out.push({
              method: verb,
              path: joinPath(base, path),
              controller: klass.name,
              handler: name,
              access: accessOf(fn, klass),
              allowWhileFrozen: allowsWhileFrozen(fn, klass),
              body: body ? types[body.index] : undefined,
              query: query ? types[query.index] : undefined,
              params: argOf(RouteParamtypes.PARAM).map((a) => String(a.data)),
            });
          }
        }
      }
    }
    return out.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  }
}
