import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { Scope } from '@palisade/contracts';
import { AllowWhileFrozen, AnyOperator, Principal, Public, RequireScope } from './auth.decorators';
import { CreateApiKeyDto, PasswordDto, RevokeApiKeyDto } from './auth.dto';
import { ApiKeyService } from './api-key.service';
import { LabelError } from './core/auth.operations';
import type { ApiKeyRecord } from './core/auth.store';
import { ScopeError } from './core/scopes';
import {
  CLEARED_SESSION_COOKIE,
  cookieValue,
  type IssuedSession,
  OperatorAuthService,
  remoteOf,
  SESSION_COOKIE,
  sessionCookie,
} from './operator-auth.service';
import { actorOf, type Principal as Caller } from './principal';
import { BadRequestException } from '@nestjs/common';

const FULL_ACCESS_WARNING =
  'this key has full access (operator.admin): it can do everything an operator can, including creating keys and freezing the agent';

const keyView = (k: ApiKeyRecord) => ({
  id: k.id,
  label: k.label,
  scopes: k.scopes,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
  revokeReason: k.revokeReason,
});

/** Operator login, onboarding, sessions and API keys. */
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly operator: OperatorAuthService,
    private readonly keys: ApiKeyService,
  ) {}

  /** First run only, and only from the gateway machine: sets the operator password and logs in. */
  @Public()
  @Post('onboarding')
  async onboarding(
    @Body() body: PasswordDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.startSession(
      await this.operator.onboard(body.password, remoteOf(req.socket.remoteAddress)),
      res,
    );
  }

  @Public()
  @AllowWhileFrozen()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: PasswordDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.startSession(
      await this.operator.login(body.password, remoteOf(req.socket.remoteAddress)),
      res,
    );
  }

  @AnyOperator()
  @AllowWhileFrozen()
  @Post('logout')
  @HttpCode(204)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.operator.logout(cookieValue(req.headers.cookie, SESSION_COOKIE));
    res.setHeader('Set-Cookie', CLEARED_SESSION_COOKIE);
  }

  @AnyOperator()
  @Get('whoami')
  whoami(@Principal() who: Caller) {
    return { type: who.type, id: who.id, scopes: who.scopes, ...(who.label ? { label: who.label } : {}) };
  }

  @RequireScope(Scope.OperatorAdmin)
  @Get('api-keys')
  async listKeys() {
    return { keys: (await this.keys.list()).map(keyView) };
  }

  /** The secret is in this response and nowhere else, ever. */
  @RequireScope(Scope.OperatorAdmin)
  @Post('api-keys')
  async createKey(@Body() body: CreateApiKeyDto, @Principal() who: Caller) {
    try {
      const { key, secret } = await this.keys.create({
        label: body.label,
        scopes: body.scopes,
        fullAccess: body.fullAccess,
        actor: actorOf(who),
      });
      return { key: keyView(key), secret, ...(body.fullAccess ? { warning: FULL_ACCESS_WARNING } : {}) };
    } catch (error) {
      if (error instanceof ScopeError || error instanceof LabelError)
        throw new BadRequestException(error.message);
      throw error;
    }
  }

  @RequireScope(Scope.OperatorAdmin)
  @Delete('api-keys/:id')
  async revokeKey(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: RevokeApiKeyDto,
    @Principal() who: Caller,
  ) {
    const revoked = await this.keys.revoke(id, body?.reason ?? 'revoked by an operator', actorOf(who));
    if (revoked) return { key: keyView(revoked) };
    const existing = await this.keys.get(id);
    if (!existing) throw new NotFoundException('no such API key');
    return { key: keyView(existing) };
  }

  private startSession(session: IssuedSession, res: Response) {
    res.setHeader('Set-Cookie', sessionCookie(session.token, session.maxAgeSeconds));
    return { scopes: session.principal.scopes, expiresAt: session.expiresAt };
  }
}
