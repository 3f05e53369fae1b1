// A minimal OpenAPI 3.0 document built from the application's own routes and the class-validator
// metadata of their DTOs (no @ApiProperty annotations needed: the validators are the schema).
import { Controller, Get, Type } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { AnyOperator } from './auth.decorators';
import { RouteCatalog, type RouteInfo } from './route-catalog.service';

type Schema = Record<string, unknown>;
const PRIMITIVES = new Set([String, Number, Boolean, Object, Array, Function]);

export function schemaOf(dto: Type<unknown>, components: Record<string, Schema>): Schema {
  const ref = { $ref: `#/components/schemas/${dto.name}` };
  if (components[dto.name]) return ref;
  components[dto.name] = {}; // placeholder against recursion
  const metas = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  const properties: Record<string, Schema> = {};
  const optional = new Set<string>();
  for (const m of metas) {
    const prop = (properties[m.propertyName] ??= {});
    const target: Schema = m.each ? ((prop.items as Schema) ??= {}) : prop;
    const c = m.constraints ?? [];
    if (m.type === 'conditionalValidation' || m.name === 'isOptional') optional.add(m.propertyName);
    if (m.type === 'nestedValidation') {
      const nested = Reflect.getMetadata('design:type', dto.prototype, m.propertyName) as
        Type<unknown> | undefined;
      if (nested && !PRIMITIVES.has(nested as never)) Object.assign(target, schemaOf(nested, components));
    }
    switch (m.name) {
      case 'isString':
        target.type = 'string';
        break;
      case 'isInt':
        target.type = 'integer';
        break;
      case 'isNumber':
        target.type = 'number';
        break;
      case 'isBoolean':
        target.type = 'boolean';
        break;
      case 'isArray':
        prop.type = 'array';
        prop.items ??= {};
        break;
      case 'isObject':
        target.type = 'object';
        break;
      case 'isIn':
        target.enum = c[0];
        break;
      case 'isEnum':
        target.enum = Object.values(c[0] ?? {});
        break;
      case 'isUuid':
      case 'isUUID':
        target.type = 'string';
        target.format = 'uuid';
        break;
      case 'isNotEmpty':
        if (target.type === 'string' || target.type === undefined) target.minLength ??= 1;
        break;
      case 'maxLength':
        target.maxLength = c[0];
        break;
      case 'minLength':
        target.minLength = c[0];
        break;
      case 'min':
        target.minimum = c[0];
        break;
      case 'max':
        target.maximum = c[0];
        break;
      case 'arrayMaxSize':
        prop.maxItems = c[0];
        break;
      case 'arrayMinSize':
        prop.minItems = c[0];
        break;
      case 'arrayUnique':
        prop.uniqueItems = true;
        break;
      case 'matches':
        target.pattern = String(c[0]).replace(/^\/|\/[gimsuy]*$/g, '');
        break;
      default:
        break;
    }
  }
  const required = Object.keys(properties).filter((p) => !optional.has(p));
  components[dto.name] = {
    type: 'object',
    additionalProperties: false,
    properties,
    ...(required.length ? { required } : {}),
  };
  return ref;
}

function describeAccess(route: RouteInfo): string {
  switch (route.access.kind) {
    case 'public':
      return 'public';
    case 'any-operator':
      return 'any authenticated operator';
    default:
      return route.access.scope + (route.access.declared ? '' : ' (undeclared: admin only)');
  }
}

export function buildOpenApi(routes: RouteInfo[], version: string): Schema {
  const components: Record<string, Schema> = {};
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const operation: Schema = {
      operationId: `${route.controller}.${route.handler}`,
      tags: [route.controller.replace(/Controller$/, '')],
      summary: `${route.method} ${route.path}`,
      'x-required-scope': describeAccess(route),
      ...(route.access.kind === 'public' ? { security: [] } : {}),
      parameters: route.params.map((name) => ({
        name,
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      responses: {
        '200': { description: 'success' },
        '400': { description: 'invalid input' },
        ...(route.access.kind === 'public'
          ? {}
          : {
              '401': { description: 'not authenticated' },
              '403': { description: 'missing scope or origin' },
            }),
        '429': { description: 'rate limited (see Retry-After)' },
      },
    };
    if (route.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: schemaOf(route.body, components) } },
      };
    }
    if (route.query) {
      const q = schemaOf(route.query, components);
      const resolved = components[(q.$ref as string).split('/').pop()!] as {
        properties?: Record<string, Schema>;
        required?: string[];
      };
      for (const [name, schema] of Object.entries(resolved.properties ?? {})) {
        (operation.parameters as Schema[]).push({
          name,
          in: 'query',
          required: resolved.required?.includes(name) ?? false,
          schema,
        });
      }
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Palisade gateway API', version },
    components: {
      schemas: components,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer pk_…' },
        session: { type: 'apiKey', in: 'cookie', name: 'palisade_session' },
      },
    },
    security: [{ apiKey: [] }, { session: [] }],
    paths,
  };
}

@Controller('api')
export class OpenApiController {
  constructor(private readonly catalog: RouteCatalog) {}

  /** For authenticated operators only: the API surface is not advertised to strangers. */
  @AnyOperator()
  @Get('openapi.json')
  document() {
    return buildOpenApi(this.catalog.routes(), '0.1.0');
  }
}
