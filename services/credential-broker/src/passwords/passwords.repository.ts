// Nextcloud Passwords API over HTTPS with the agent's app password: open a session, show exactly one
// entry by id, close the session. Never password/list (it returns every secret the account can see).
// Errors name the status and what to fix, never a secret; nothing is kept after a call.
import { Inject, Injectable } from '@nestjs/common';
import https from 'node:https';
import { RpcError, RpcErrorCode } from '@palisade/contracts';
import { PASSWORDS_SETTINGS, type PasswordsSettings } from './passwords.settings';

interface ApiResponse {
  status: number;
  session?: string;
  body: unknown;
}

export interface HealthCheck {
  ok: boolean;
  detail?: string;
}

const NOT_CONFIGURED =
  'no password store configured: set PALISADE_PASSWORDS_URL (https), PALISADE_PASSWORDS_USER and PALISADE_PASSWORDS_APP_PASSWORD_FILE';

@Injectable()
export class PasswordsRepository {
  constructor(@Inject(PASSWORDS_SETTINGS) private readonly settings: PasswordsSettings) {}

  private get connection() {
    if (!this.settings.connection)
      throw new RpcError(RpcErrorCode.Unavailable, `credential-broker has ${NOT_CONFIGURED}`);
    return this.settings.connection;
  }

  /** The password of one entry, read at this moment in its own API session. */
  async show(entryId: string): Promise<string> {
    const session = await this.openSession();
    try {
      const reply = await this.call('POST', 'password/show', { id: entryId }, session);
      if (reply.status === 403 || reply.status === 404) {
        throw new RpcError(
          RpcErrorCode.CredentialRevoked,
          `Passwords entry ${entryId} is no longer accessible to the agent (HTTP ${reply.status}): the share was removed or the entry deleted`,
        );
      }
      this.expectOk(reply, 'password/show');
      const entry = reply.body as { id?: unknown; password?: unknown };
      if (entry?.id !== entryId || typeof entry.password !== 'string') {
        throw new RpcError(
          RpcErrorCode.Unavailable,
          `Passwords answered password/show for ${entryId} with another or malformed entry`,
        );
      }
      return entry.password;
    } finally {
      await this.call('GET', 'session/close', undefined, session).catch(() => undefined);
    }
  }

  /** session/request then session/open. An account with a master password sends a challenge we cannot solve. */
  private async openSession(): Promise<string | undefined> {
    const request = await this.call('GET', 'session/request');
    this.expectOk(request, 'session/request');
    const challenge = request.body as { challenge?: unknown; token?: unknown } | unknown[];
    if (!Array.isArray(challenge) && (nonEmpty(challenge?.challenge) || nonEmpty(challenge?.token))) {
      throw new RpcError(
        RpcErrorCode.Unavailable,
        "the agent's Passwords account uses a master password or second factor, which the broker cannot answer: use an account without one",
      );
    }
    const open = await this.call('POST', 'session/open', {}, request.session);
    this.expectOk(open, 'session/open');
    return open.session ?? request.session;
  }

  private expectOk(reply: ApiResponse, endpoint: string): void {
    if (reply.status === 401) {
      throw new RpcError(
        RpcErrorCode.CredentialRevoked,
        `Nextcloud Passwords refused the agent's login on ${endpoint} (HTTP 401): the account is disabled or its app password was revoked — check PALISADE_PASSWORDS_USER and PALISADE_PASSWORDS_APP_PASSWORD_FILE`,
      );
    }
    if (reply.status === 403) {
      throw new RpcError(
        RpcErrorCode.CredentialRevoked,
        `Nextcloud Passwords denied ${endpoint} to the agent (HTTP 403)`,
      );
    }
    if (reply.status < 200 || reply.status >= 300) {
      const message = (reply.body as { message?: unknown })?.message;
      const hint = typeof message === 'string' && /^[\w .,:-]{1,80}$/.test(message) ? `: ${message}` : '';
      throw new RpcError(
        RpcErrorCode.Unavailable,
        `Nextcloud Passwords answered ${endpoint} with HTTP ${reply.status}${hint}`,
      );
    }
  }

  private call(
    method: 'GET' | 'POST',
    endpoint: string,
    body?: unknown,
    session?: string,
  ): Promise<ApiResponse> {
    const c = this.connection;
    const url = new URL(endpoint, c.apiBase);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {
      authorization: `Basic ${Buffer.from(`${c.user}:${c.appPassword}`).toString('base64')}`,
      accept: 'application/json',
      'ocs-apirequest': 'true',
    };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (session) headers['x-api-session'] = session;
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = https.request(
        url,
        { method, headers, agent: false, ...(c.ca ? { ca: c.ca } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', () => reject(this.unreachable('connection reset')));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              parsed = undefined;
            }
            const sessionHeader = res.headers['x-api-session'];
            resolve({
              status: res.statusCode ?? 0,
              session: typeof sessionHeader === 'string' ? sessionHeader : undefined,
              body: parsed,
            });
          });
        },
      );
      req.setTimeout(c.timeoutMs, () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(this.unreachable(error.code ?? 'connection failed')),
      );
      req.end(payload);
    });
  }

  private unreachable(cause: string): RpcError {
    const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/i.test(cause);
    const fix = tls
      ? 'set PALISADE_PASSWORDS_CA_FILE to the CA that signed its certificate'
      : 'check PALISADE_PASSWORDS_URL';
    return new RpcError(
      RpcErrorCode.Unavailable,
      `Nextcloud Passwords unreachable at ${new URL(this.connection.apiBase).origin} (${cause}): ${fix}`,
    );
  }

  /** Login works (session/request touches no secret). */
  async health(): Promise<HealthCheck> {
    if (!this.settings.connection) return { ok: false, detail: NOT_CONFIGURED };
    try {
      const reply = await this.call('GET', 'session/request');
      this.expectOk(reply, 'session/request');
      if (reply.session)
        await this.call('GET', 'session/close', undefined, reply.session).catch(() => undefined);
      return { ok: true, detail: `${new URL(this.connection.apiBase).origin} as ${this.connection.user}` };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
  }
}

function nonEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
