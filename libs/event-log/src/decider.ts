// Event-sourced aggregates as deciders: decide(command, state) → new events; evolve(state, event) → state.
// Pure functions, tested given-when-then; the store supplies history and optimistic concurrency.
import type { AggregateType, PalisadeEvent } from '@palisade/contracts';
import { ConcurrencyError } from './event-log.errors';
import { EventStore, StoredEvent } from './event-store';

export interface Decider<State, Command, Event extends PalisadeEvent = PalisadeEvent> {
  initialState: () => State;
  evolve: (state: State, event: Event) => State;
  decide: (command: Command, state: State) => Event[];
}

export function fold<State, Event extends PalisadeEvent>(
  decider: Pick<Decider<State, never, Event>, 'initialState' | 'evolve'>,
  events: Event[],
): State {
  return events.reduce(decider.evolve, decider.initialState());
}

export interface LoadedAggregate<State> {
  state: State;
  /**
   * The aggregate's version: the stream sequence of its last event, 0 when it has none. This is what
   * JetStream compares with Nats-Expected-Last-Subject-Sequence.
   */
  version: number;
  events: StoredEvent[];
}

export async function loadAggregate<State, Event extends PalisadeEvent>(
  store: EventStore,
  decider: Pick<Decider<State, never, Event>, 'initialState' | 'evolve'>,
  aggregateType: AggregateType,
  id: string,
): Promise<LoadedAggregate<State>> {
  const events = await store.readAggregate(aggregateType, id);
  return { state: fold(decider, events.map((e) => e.event as Event)), version: events.at(-1)?.seq ?? 0, events };
}

/**
 * Loads, decides and appends with the expected version; on a conflict it re-reads and decides again
 * (safe: the decision is recomputed from the new state), up to `attempts` times.
 */
export async function handleCommand<State, Command, Event extends PalisadeEvent>(
  store: EventStore,
  decider: Decider<State, Command, Event>,
  aggregateType: AggregateType,
  id: string,
  command: Command,
  attempts = 3,
): Promise<{ state: State; appended: Event[] }> {
  for (let attempt = 1; ; attempt++) {
    const { state, version } = await loadAggregate(store, decider, aggregateType, id);
    const events = decider.decide(command, state);
    try {
      let expected: number | 'none' = version === 0 ? 'none' : version;
      let next = state;
      for (const event of events) {
        // Each following append expects the version the previous one produced.
        expected = (await store.append(event, expected)).seq;
        next = decider.evolve(next, event);
      }
      return { state: next, appended: events };
    } catch (error) {
      if (error instanceof ConcurrencyError && attempt < attempts) continue;
      throw error;
    }
  }
}
