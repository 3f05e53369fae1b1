import { createEvent, type PalisadeEvent } from '@palisade/contracts';
import { buildContext, sessionFacts, toolsFor } from './session-context';
import type { SessionEvent } from './session-reader';

const S = 'ses_' + 'a'.repeat(40);
const TURN = '0190b0a2-7c00-7000-8000-00000000f001';
let seq = 0;
function ev(type: string, data: unknown, trust: 'trusted' | 'untrusted' = 'trusted'): SessionEvent {
  const event = createEvent({
    type,
    source: 'gateway',
    aggregateId: S,
    data: data as never,
    actor: { type: 'service', id: 'gateway' },
    trust,
  }) as PalisadeEvent;
  return { seq: ++seq, event };
}
const msg = (text: string, level = 'execute', trust: 'trusted' | 'untrusted' = 'untrusted') =>
  ev(
    'chat.message.received',
    {
      channel: 'talk-main',
      conversation: 'room1',
      sender: 'users/alice',
      messageId: String(seq + 100),
      text,
      level,
    },
    trust,
  );

describe('session facts', () => {
  it('owes a turn for messages after the last turn start', () => {
    const events = [
      msg('hi'),
      ev('agent.turn.started', { turn: TURN, trigger: 'message' }),
      msg('again'),
      msg('and again'),
    ];
    const facts = sessionFacts(events);
    expect(facts.unanswered).toBe(2);
    expect(facts.version).toBe(events[3].seq);
    expect(facts.lastMessage?.id).toBe(events[3].event.id);
    expect(facts.channel).toBe('talk-main');
  });

  it('an untrusted sender taints; a tool result taints a trusted session until cleared', () => {
    expect(sessionFacts([msg('x', 'execute', 'untrusted')]).tainted).toBe(true);
    const trusted = [msg('x', 'admin', 'trusted')];
    expect(sessionFacts(trusted).tainted).toBe(false);
    const withOutput = [
      ...trusted,
      ev('agent.tool.result', { turn: TURN, call: 'c1', tool: 'exec', content: 'out', tainted: true }),
    ];
    expect(sessionFacts(withOutput).tainted).toBe(true);
    expect(sessionFacts([...withOutput, ev('session.taint.cleared', { reason: 'reviewed' })]).tainted).toBe(
      false,
    );
  });
});

describe('context', () => {
  it('keeps order and maps tool traffic; the identity comes first', () => {
    const events = [
      msg('run ls'),
      ev('agent.tool.called', { turn: TURN, call: 'c1', tool: 'exec', arguments: '{"command":"ls"}' }),
      ev('agent.tool.result', { turn: TURN, call: 'c1', tool: 'exec', content: 'a b', tainted: true }),
      ev('chat.message.sent', { channel: 'talk-main', conversation: 'room1', text: 'done' }),
    ];
    const context = buildContext('I am Palisade', events);
    expect(context.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(context[2].toolCalls?.[0]).toEqual({ id: 'c1', name: 'exec', arguments: { command: 'ls' } });
    expect(context[3]).toMatchObject({ toolCallId: 'c1', content: 'a b' });
  });

  it('trims old history but always keeps the newest message and never starts with an orphan tool result', () => {
    const events = [
      msg('old'),
      ev('agent.tool.called', { turn: TURN, call: 'c1', tool: 'exec', arguments: '{}' }),
      ev('agent.tool.result', { turn: TURN, call: 'c1', tool: 'exec', content: 'x', tainted: true }),
      msg('newest'),
    ];
    const context = buildContext('id', events, { maxMessages: 2 });
    expect(context.map((m) => m.content)).toEqual(['id', 'newest']);
  });

  it('a cron turn starts at its own prompt', () => {
    const events = [msg('private earlier talk'), msg('cron prompt')];
    const context = buildContext('id', events, { fromSeq: events[1].seq });
    expect(context.map((m) => m.content)).toEqual(['id', 'cron prompt']);
  });

  it('read-only senders get no acting tool', () => {
    expect(toolsFor('read-only').map((t) => t.name)).toEqual(['reply']);
    expect(toolsFor('execute').map((t) => t.name)).toEqual(['reply', 'exec']);
    expect(toolsFor(undefined).map((t) => t.name)).toEqual(['reply']);
  });
});
