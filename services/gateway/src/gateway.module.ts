import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  AgentController,
  ApprovalsController,
  CronController,
  SendersController,
  SessionsController,
} from './api/api.controllers';
import { InterimAuthGuard } from './api/operator-auth';
import { HealthController } from './health/health.controller';
import { TurnModule } from './turn/turn.module';

/** The front door (REST + WebSocket API) and the agent's conversation loop. */
@Module({
  imports: [TurnModule],
  controllers: [
    HealthController,
    SessionsController,
    ApprovalsController,
    SendersController,
    CronController,
    AgentController,
  ],
  providers: [{ provide: APP_GUARD, useClass: InterimAuthGuard }],
})
export class GatewayModule {}
