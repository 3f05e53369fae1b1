import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { SERVICE_CONFIG } from '@palisade/nats';
import { TlsRenewal } from '../http/tls-renewal.service';
import { BuiltinWsMethods, WsMethodRegistry } from '../ws/ws-methods';
import { WsGateway } from '../ws/ws.server';
import { AgentFreezeController } from './agent-freeze.controller';
import { ApiKeyService } from './api-key.service';
import { AuditService } from './audit.service';
import type { GatewayAuthConfig } from './auth.config';
import { AuthController } from './auth.controller';
import { AuthDatabase } from './auth.database';
import { AuthGuard } from './auth.guard';
import { FreezeState } from './freeze-state.service';
import { OpenApiController } from './openapi';
import { OperatorAuthService } from './operator-auth.service';
import { OriginPolicy } from './origin-policy.service';
import { RequestLimiter } from './rate-limiter';
import { RetryLaterFilter } from './retry-later';
import { RouteCatalog } from './route-catalog.service';

/**
 * The gateway's front door: the global guard (API keys, sessions, scopes, origins, rate limits,
 * freeze), login/onboarding/API key routes, the kill switch, OpenAPI, the WebSocket endpoint and TLS
 * renewal. Controllers elsewhere only add `@RequireScope(...)` and, if needed, `@Principal()`.
 * Global, so any gateway module can inject FreezeState, WsGateway, WsMethodRegistry, ApiKeyService.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [AuthController, AgentFreezeController, OpenApiController],
  providers: [
    AuthDatabase,
    AuditService,
    ApiKeyService,
    OperatorAuthService,
    OriginPolicy,
    FreezeState,
    RouteCatalog,
    WsMethodRegistry,
    BuiltinWsMethods,
    WsGateway,
    TlsRenewal,
    {
      provide: RequestLimiter,
      inject: [SERVICE_CONFIG],
      useFactory: (config: GatewayAuthConfig) =>
        new RequestLimiter(config.PALISADE_GATEWAY_REQUESTS_PER_MINUTE),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: RetryLaterFilter },
  ],
  exports: [ApiKeyService, FreezeState, WsGateway, WsMethodRegistry, RouteCatalog, AuditService],
})
export class AuthModule {}
