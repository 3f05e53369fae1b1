import { Injectable } from '@nestjs/common';
import { type EventActor } from '@palisade/contracts';
import { AuditService } from './audit.service';
import { AuthDatabase } from './auth.database';
import {
  digestsEqual,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  lookupPrefixOf,
} from './core/api-key.crypto';
import { createApiKey, type CreatedApiKey, revokeApiKey } from './core/auth.operations';
import type { ApiKeyCandidate, ApiKeyRecord } from './core/auth.store';
import type { Principal } from './principal';

const TOUCH_EVERY_MS = 60_000;

export type KeyCheck = { ok: true; principal: Principal } | { ok: false; reason: 'invalid' | 'revoked' };

@Injectable()
export class ApiKeyService {
  /** Compared against when no row matches, so a miss does the same work as a wrong key. */
  private readonly decoy: ApiKeyCandidate;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly db: AuthDatabase,
    private readonly audit: AuditService,
  ) {
    const d = generateApiKey();
    this.decoy = {
      id: '00000000-0000-7000-8000-000000000000',
      label: 'decoy',
      lookupPrefix: d.lookupPrefix,
      scopes: [],
      createdBy: 'decoy',
      createdAt: new Date(0),
      lastUsedAt: null,
      revokedAt: null,
      revokeReason: null,
      salt: d.salt,
      hash: d.hash,
    };
  }

  /**
   * Checks a presented key. Every call does one indexed lookup by prefix and then hashes and compares
   * against every candidate — or against a decoy when there is none — in constant time, without an
   * early exit: an unknown prefix, a wrong key with a known prefix and a revoked key take the same path.
   */
  async authenticate(presented: string): Promise<KeyCheck> {
    const secret = typeof presented === 'string' && presented.length <= 128 ? presented : '';
    const prefix = isWellFormedApiKey(secret) ? lookupPrefixOf(secret) : '\u0000';
    const found = await this.db.store.keysByPrefix(prefix);
    const candidates = found.length ? found : [this.decoy];
    let match: ApiKeyCandidate | undefined;
    for (const candidate of candidates) {
      const equal = digestsEqual(hashApiKey(candidate.salt, secret), candidate.hash);
      if (equal && candidate !== this.decoy) match = candidate;
    }
    if (!match) return { ok: false, reason: 'invalid' };
    if (match.revokedAt) return { ok: false, reason: 'revoked' };
    this.touch(match.id);
    return {
      ok: true,
      principal: { type: 'apikey', id: match.id, scopes: match.scopes, label: match.label },
    };
  }

  /** Still valid? (WebSocket requests re-check their key; a revoked key's socket is closed.) */
  isActive(id: string): Promise<boolean> {
    return this.db.store.isKeyActive(id);
  }

  /** last_used_at, written at most once a minute per key so requests do not each cost a write. */
  private touch(id: string): void {
    const now = Date.now();
    if ((this.touched.get(id) ?? 0) > now - TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    void this.db.store.touchApiKey(id).catch(() => this.touched.delete(id));
  }

  create(input: {
    label: string;
    scopes?: string[];
    fullAccess?: boolean;
    actor: EventActor;
  }): Promise<CreatedApiKey> {
    return createApiKey(this.db.store, this.audit.events, input);
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.db.store.listApiKeys();
  }

  get(id: string): Promise<ApiKeyRecord | undefined> {
    return this.db.store.getApiKey(id);
  }

  revoke(id: string, reason: string, actor: EventActor): Promise<ApiKeyRecord | undefined> {
    return revokeApiKey(this.db.store, this.audit.events, id, reason, actor);
  }

  /** Called with a key id whenever any replica or the CLI revokes a key; `resync` after a listener gap. */
  onRevoked(listener: (keyId: string) => void, onResync?: () => void): () => void {
    this.db.revocations.on('revoked', listener);
    if (onResync) this.db.revocations.on('resync', onResync);
    return () => {
      this.db.revocations.off('revoked', listener);
      if (onResync) this.db.revocations.off('resync', onResync);
    };
  }
}
