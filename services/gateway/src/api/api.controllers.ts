// The operator API: business routes. Each declares the scope it needs (a route without one is
// admin-only). Work is done by the owning service over NATS; the gateway records who asked.
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import {
  APPROVALS_DECIDE,
  APPROVALS_GET,
  APPROVALS_LIST,
  CHANNELS_SENDERS_ADMIT,
  CHANNELS_SENDERS_LIST,
  CHANNELS_SENDERS_REJECT,
  CRON_CREATE,
  CRON_LIST,
  CRON_REMOVE,
  CRON_UPDATE,
  createEvent,
  DEFAULT_AGENT_ID,
  isUuidV7,
  RpcError,
  uuidv7,
} from '@palisade/contracts';
import { NatsRpcClient, SERVICE_CONFIG } from '@palisade/nats';
import { Inject } from '@nestjs/common';
import type { Response } from 'express';
import type { GatewayConfig } from '../gateway.config';
import { OPERATOR_CHANNEL, TurnService } from '../turn/turn.module';
import {
  AdmitSenderDto,
  CronJobDto,
  DecideDto,
  IdentityDto,
  PostMessageDto,
  SenderDto,
  SenderQueryDto,
} from './api.dto';
import { Principal as CurrentOperator, RequireScope } from '../auth/auth.decorators';
import { actorOf, type Principal as OperatorPrincipal } from '../auth/principal';
import { RpcErrorFilter } from './rpc-error.filter';

function operatorSession(id: string): string {
  // Operator sessions are UUIDv7s; channel sessions (ses_…) can never be written into from the API.
  if (!isUuidV7(id))
    throw new RpcError('validation_failed', 'session must be a UUIDv7 created with POST /api/sessions');
  return id;
}

@Controller('api/sessions')
@UseFilters(RpcErrorFilter)
export class SessionsController {
  constructor(
    private readonly turns: TurnService,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post()
  @RequireScope('operator.write')
  create() {
    return { session: uuidv7() };
  }

  /** Sends a message as the operator and answers with the agent's reply (202 if it takes longer). */
  @Post(':session/messages')
  @RequireScope('operator.write')
  async message(
    @Param('session') id: string,
    @Body() body: PostMessageDto,
    @CurrentOperator() who: OperatorPrincipal,
    @Res() res: Response,
  ) {
    const session = operatorSession(id);
    const event = createEvent({
      type: 'chat.message.received',
      source: 'gateway',
      aggregateId: session,
      data: {
        channel: OPERATOR_CHANNEL,
        conversation: session,
        sender: who.id,
        messageId: uuidv7(),
        text: body.text,
        level: 'admin',
      },
      actor: actorOf(who),
      trust: 'trusted',
    });
    await this.turns.store.append(event);
    const turn = this.turns.runner.onMessage(session);
    const waited = await Promise.race([
      turn,
      new Promise<undefined>((r) =>
        setTimeout(() => r(undefined), this.config.PALISADE_GATEWAY_API_TURN_WAIT_MS),
      ),
    ]);
    if (!waited) {
      res.status(202).json({ session, status: 'running', message: event.id });
      return;
    }
    res.status(200).json({ session, message: event.id, ...waited });
  }

  @Get(':session/events')
  @RequireScope('operator.read')
  async events(@Param('session') id: string) {
    if (!/^(ses_[0-9a-f]{40}|[0-9a-f-]{36})$/.test(id))
      throw new RpcError('validation_failed', 'not a session id');
    const events = await this.turns.store.readAggregate('session', id);
    return events.map(({ seq, event }) => ({
      seq,
      id: event.id,
      type: event.type,
      time: event.time,
      actor: { type: event.actortype, id: event.actorid },
      trust: event.trust,
      correlationId: event.correlationid,
      data: event.data,
    }));
  }
}

@Controller('api/approvals')
@UseFilters(RpcErrorFilter)
export class ApprovalsController {
  constructor(private readonly rpc: NatsRpcClient) {}

  @Get()
  @RequireScope('operator.approvals')
  list(@Query('status') status?: string) {
    return this.rpc.request(APPROVALS_LIST, status ? { status } : {});
  }

  @Get(':approval')
  @RequireScope('operator.approvals')
  get(@Param('approval') approval: string) {
    return this.rpc.request(APPROVALS_GET, { approval });
  }

  @Post(':approval/decide')
  @HttpCode(200)
  @RequireScope('operator.approvals')
  decide(
    @Param('approval') approval: string,
    @Body() body: DecideDto,
    @CurrentOperator() who: OperatorPrincipal,
  ) {
    return this.rpc.request(APPROVALS_DECIDE, { approval, ...body, decider: { type: who.type, id: who.id } });
  }
}

@Controller('api/channels')
@UseFilters(RpcErrorFilter)
export class SendersController {
  constructor(private readonly rpc: NatsRpcClient) {}

  @Get('senders')
  @RequireScope('operator.pairing')
  list(@Query() query: SenderQueryDto) {
    return this.rpc.request(CHANNELS_SENDERS_LIST, query);
  }

  @Post(':channel/senders/admit')
  @HttpCode(200)
  @RequireScope('operator.pairing')
  admit(
    @Param('channel') channel: string,
    @Body() body: AdmitSenderDto,
    @CurrentOperator() who: OperatorPrincipal,
  ) {
    return this.rpc.request(CHANNELS_SENDERS_ADMIT, {
      channel,
      sender: body.sender,
      level: body.level,
      actor: actorOf(who),
    });
  }

  @Post(':channel/senders/reject')
  @HttpCode(200)
  @RequireScope('operator.pairing')
  reject(
    @Param('channel') channel: string,
    @Body() body: SenderDto,
    @CurrentOperator() who: OperatorPrincipal,
  ) {
    return this.rpc.request(CHANNELS_SENDERS_REJECT, {
      channel,
      sender: body.sender,
      actor: actorOf(who),
    });
  }
}

@Controller('api/cron/jobs')
@UseFilters(RpcErrorFilter)
export class CronController {
  constructor(private readonly rpc: NatsRpcClient) {}

  @Get()
  @RequireScope('operator.read')
  list() {
    return this.rpc.request(CRON_LIST, {});
  }

  @Post()
  @RequireScope('operator.write')
  create(@Body() body: CronJobDto, @CurrentOperator() who: OperatorPrincipal) {
    return this.rpc.request(CRON_CREATE, {
      ...body,
      creator: { type: who.type, id: who.id, trust: 'trusted' },
    });
  }

  @Put(':job')
  @RequireScope('operator.write')
  update(@Param('job') job: string, @Body() body: CronJobDto, @CurrentOperator() who: OperatorPrincipal) {
    return this.rpc.request(CRON_UPDATE, {
      job,
      ...body,
      creator: { type: who.type, id: who.id, trust: 'trusted' },
    });
  }

  @Delete(':job')
  @RequireScope('operator.write')
  remove(@Param('job') job: string, @CurrentOperator() who: OperatorPrincipal) {
    return this.rpc.request(CRON_REMOVE, { job, creator: { type: who.type, id: who.id, trust: 'trusted' } });
  }
}

@Controller('api/agent')
@UseFilters(RpcErrorFilter)
export class AgentController {
  constructor(private readonly turns: TurnService) {}

  /** Changing the agent's identity (name, instructions) needs operator.write and is recorded. */
  @Put('identity')
  @RequireScope('operator.write')
  async identity(@Body() body: IdentityDto, @CurrentOperator() who: OperatorPrincipal) {
    const changed = Object.keys(body).filter((k) => body[k as keyof IdentityDto] !== undefined);
    if (!changed.length) throw new RpcError('validation_failed', 'give name and/or instructions');
    await this.turns.store.append(
      createEvent({
        type: 'agent.identity.updated',
        source: 'gateway',
        aggregateId: DEFAULT_AGENT_ID,
        data: { changed, name: body.name, instructions: body.instructions },
        actor: actorOf(who),
        trust: 'trusted',
      }),
    );
    this.turns.agent.invalidate();
    return { changed };
  }
}
