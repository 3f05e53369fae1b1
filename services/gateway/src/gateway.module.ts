import { Module } from '@nestjs/common';
import { HealthController } from './health/health.controller';

/** The front door (REST + WebSocket API) and the agent's conversation loop. */
@Module({ controllers: [HealthController] })
export class GatewayModule {}
