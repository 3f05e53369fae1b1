import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { Scope } from '@palisade/contracts';
import { AuditService } from './audit.service';
import { AuthDatabase } from './auth.database';
import { AllowWhileFrozen, Principal, RequireScope } from './auth.decorators';
import { FreezeDto, ThawDto } from './auth.dto';
import { freezeAgent, thawAgent } from './core/auth.operations';
import { FreezeState } from './freeze-state.service';
import { actorOf, type Principal as Caller } from './principal';

/** The kill switch (admin): freeze stops the agent and revokes every other key; thaw only unfreezes. */
@Controller('api/agent')
export class AgentFreezeController {
  constructor(
    private readonly db: AuthDatabase,
    private readonly audit: AuditService,
    private readonly freeze: FreezeState,
  ) {}

  @RequireScope(Scope.OperatorRead)
  @Get('freeze')
  async status() {
    return this.freeze.current();
  }

  @RequireScope(Scope.OperatorAdmin)
  @AllowWhileFrozen()
  @Post('freeze')
  @HttpCode(200)
  async freezeNow(@Body() body: FreezeDto, @Principal() who: Caller) {
    const outcome = await freezeAgent(this.db.store, this.audit.events, {
      reason: body.reason,
      actor: actorOf(who),
      keepKeyId: who.type === 'apikey' ? who.id : undefined,
    });
    await this.freeze.refresh();
    return { frozen: true, revokedKeys: outcome.revoked.map((k) => ({ id: k.id, label: k.label })) };
  }

  @RequireScope(Scope.OperatorAdmin)
  @AllowWhileFrozen()
  @Post('thaw')
  @HttpCode(200)
  async thaw(@Body() body: ThawDto, @Principal() who: Caller) {
    await thawAgent(this.audit.events, { reason: body?.reason, actor: actorOf(who) });
    return this.freeze.refresh();
  }
}
