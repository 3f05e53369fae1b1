import {
  ConflictException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readSecretFile } from '@palisade/config';
import { Scope, uuidv7 } from '@palisade/contracts';
import { SERVICE_CONFIG } from '@palisade/nats';
import { ANONYMOUS, AuditService } from './audit.service';
import type { GatewayAuthConfig } from './auth.config';
import { AuthDatabase } from './auth.database';
import {
  checkPasswordPolicy,
  decoyHash,
  hashPassword,
  OPERATOR_USER,
  PasswordPolicyError,
  verifyPassword,
} from './core/password';
import type { Principal } from './principal';
import { isLoopbackHost } from '../http/gateway-tls';
import { RetryLaterException } from './retry-later';

export const SESSION_COOKIE = 'palisade_session';

export class TooManyAttemptsException extends RetryLaterException {
  constructor(retryAfter: number) {
    super(retryAfter, `too many failed attempts from this address; try again in ${retryAfter} s`);
  }
}

export interface IssuedSession {
  token: string;
  principal: Principal;
  expiresAt: Date;
  maxAgeSeconds: number;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** The operator's password, sessions and the per-address login throttle (shared by replicas). */
@Injectable()
export class OperatorAuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('OperatorAuth');
  private passwordSet = false;

  constructor(
    private readonly db: AuthDatabase,
    private readonly audit: AuditService,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayAuthConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const file = this.config.PALISADE_GATEWAY_PASSWORD_FILE;
    if (file && existsSync(file) && !(await this.isPasswordSet())) {
      const hash = await hashPassword(readSecretFile(file, 'PALISADE_GATEWAY_PASSWORD_FILE'));
      if (await this.db.store.setPasswordHash(OPERATOR_USER, hash, true))
        this.logger.log('operator password set from PALISADE_GATEWAY_PASSWORD_FILE');
      this.passwordSet = true;
    }
    await this.db.store.deleteExpiredSessions().catch(() => undefined);
  }

  /** Once set, a password cannot be unset through the gateway: a positive answer is cached. */
  async isPasswordSet(): Promise<boolean> {
    if (!this.passwordSet) this.passwordSet = (await this.db.store.passwordHash()) !== undefined;
    return this.passwordSet;
  }

  /** First-run onboarding: loopback only, and only while no password exists. */
  async onboard(password: string, remote: string): Promise<IssuedSession> {
    if (!isLoopbackHost(remote)) {
      throw new ForbiddenException('onboarding is possible only from the gateway machine itself (loopback)');
    }
    if (await this.isPasswordSet())
      throw new ConflictException('the operator password is already set; log in instead');
    try {
      checkPasswordPolicy(password);
    } catch (error) {
      if (error instanceof PasswordPolicyError)
        throw new HttpException(error.message, HttpStatus.BAD_REQUEST);
      throw error;
    }
    const created = await this.db.store.setPasswordHash(OPERATOR_USER, await hashPassword(password), true);
    if (!created) throw new ConflictException('the operator password is already set; log in instead');
    this.passwordSet = true;
    return this.issueSession(remote);
  }

  async login(password: string, remote: string): Promise<IssuedSession> {
    await this.verifyOperatorPassword(password, remote);
    return this.issueSession(remote);
  }

  /** Checks the operator password under the login throttle; throws 429 / 401. */
  async verifyOperatorPassword(password: string, remote: string): Promise<Principal> {
    await this.assertNotLocked(remote);
    const stored = await this.db.store.passwordHash();
    // With no password a decoy is verified anyway: the answer takes as long either way.
    const ok = (await verifyPassword(stored ?? (await decoyHash()), password)) && stored !== undefined;
    if (!ok) {
      await this.recordFailure(
        remote,
        'password',
        stored ? 'wrong password' : 'no operator password configured',
        OPERATOR_USER,
      );
      throw new HttpException('wrong password', HttpStatus.UNAUTHORIZED);
    }
    await this.db.store.clearFailures(remote);
    return { type: 'user', id: OPERATOR_USER, scopes: [Scope.OperatorAdmin] };
  }

  async validateSession(token: string | undefined): Promise<Principal | undefined> {
    if (!token || token.length > 128) return undefined;
    const session = await this.db.store.findSession(digest(token));
    return session
      ? { type: 'user', id: session.userName, scopes: session.scopes, sessionId: session.id }
      : undefined;
  }

  async logout(token: string | undefined): Promise<void> {
    if (token && token.length <= 128) await this.db.store.deleteSession(digest(token));
  }

  /** Throws 429 while the address is locked out. */
  async assertNotLocked(remote: string): Promise<void> {
    const wait = await this.db.store.lockedFor(remote);
    if (wait > 0) throw new TooManyAttemptsException(wait);
  }

  /** A failed password or API key attempt: audited, counted, and at the limit a lockout (audited too). */
  async recordFailure(
    remote: string,
    method: 'password' | 'apikey',
    reason: string,
    user?: string,
  ): Promise<void> {
    await this.audit.record(
      'auth.login.failed',
      { method, reason, remote, ...(user ? { user } : {}) },
      ANONYMOUS,
    );
    const state = await this.db.store.recordFailure(remote, {
      maxFailures: this.config.PALISADE_GATEWAY_LOGIN_MAX_FAILURES,
      baseSeconds: this.config.PALISADE_GATEWAY_LOCKOUT_SECONDS,
      maxSeconds: this.config.PALISADE_GATEWAY_LOCKOUT_MAX_SECONDS,
    });
    if (state.lockedUntil) {
      await this.audit.record(
        'auth.lockout',
        {
          user: user ?? method,
          until: new Date(state.lockedUntil).toISOString(),
          failures: this.config.PALISADE_GATEWAY_LOGIN_MAX_FAILURES,
          remote,
        },
        ANONYMOUS,
      );
    }
  }

  private async issueSession(remote: string): Promise<IssuedSession> {
    const token = randomBytes(32).toString('base64url');
    const ttl = this.config.PALISADE_GATEWAY_SESSION_TTL_SECONDS;
    const session = await this.db.store.createSession({
      tokenHash: digest(token),
      id: uuidv7(),
      userName: OPERATOR_USER,
      scopes: [Scope.OperatorAdmin],
      remote,
      ttlSeconds: ttl,
    });
    return {
      token,
      principal: { type: 'user', id: session.userName, scopes: session.scopes, sessionId: session.id },
      expiresAt: session.expiresAt,
      maxAgeSeconds: ttl,
    };
  }
}

/** Remote address without the IPv4-mapped prefix. */
export function remoteOf(address: string | undefined): string {
  return (address ?? 'unknown').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

export function sessionCookie(token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`;
}

export const CLEARED_SESSION_COOKIE = `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
