// Reads a session's events straight from EVENTS (contracts: prompt assembly never uses a projection
// that may lag). Each session's events are cached with the last sequence read, so a turn only fetches
// what was appended since the previous one — and always reads up to the end of the subject.
import { eventSubject, type PalisadeEvent } from '@palisade/contracts';
import type { EventStore } from '@palisade/event-log';

export interface SessionEvent {
  seq: number;
  event: PalisadeEvent;
}

interface CacheEntry {
  lastSeq: number;
  events: SessionEvent[];
  touched: number;
}

export class SessionReader {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly store: EventStore,
    private readonly maxSessions = 1_000,
  ) {}

  async read(session: string): Promise<SessionEvent[]> {
    const subject = eventSubject('session', session);
    let entry = this.cache.get(session);
    if (!entry) {
      entry = { lastSeq: 0, events: [], touched: 0 };
      this.cache.set(session, entry);
      this.evict();
    }
    entry.touched = Date.now();
    for (;;) {
      const next = await this.store.nextOnSubject(subject, entry.lastSeq + 1);
      if (!next) break;
      entry.events.push({ seq: next.seq, event: next.event });
      entry.lastSeq = next.seq;
    }
    return entry.events;
  }

  private evict(): void {
    if (this.cache.size <= this.maxSessions) return;
    const oldest = [...this.cache.entries()].sort((a, b) => a[1].touched - b[1].touched)[0];
    if (oldest) this.cache.delete(oldest[0]);
  }
}
