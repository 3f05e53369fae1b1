import { Module } from '@nestjs/common';
import {
  AgentController,
  ApprovalsController,
  CronController,
  SendersController,
  SessionsController,
} from './api/api.controllers';
import { AuthModule } from './auth/auth.module';
import { HealthController } from './health/health.controller';
import { TurnModule } from './turn/turn.module';

/** The front door (REST + WebSocket API, behind AuthModule's global guard) and the agent's conversation loop. */
@Module({
  imports: [AuthModule, TurnModule],
  controllers: [
    HealthController,
    SessionsController,
    ApprovalsController,
    SendersController,
    CronController,
    AgentController,
  ],
})
export class GatewayModule {}
