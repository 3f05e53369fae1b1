import { isSubjectToken } from './subjects';
import { channelIdOf, senderIdOf, sessionIdOf, sessionKeyOf } from './session-ids';

describe('session ids', () => {
  it('are deterministic, subject-safe and differ per part', () => {
    const a = sessionIdOf('talk-main', 'room1', 'users/alice.b c');
    expect(a).toBe(sessionIdOf('talk-main', 'room1', 'users/alice.b c'));
    expect(isSubjectToken(a)).toBe(true);
    expect(a).toMatch(/^ses_[0-9a-f]{40}$/);
    expect(sessionIdOf('talk-main', 'room2', 'users/alice.b c')).not.toBe(a);
    expect(sessionIdOf('talk-other', 'room1', 'users/alice.b c')).not.toBe(a);
    expect(sessionIdOf('talk-main', 'room1', 'users/bob')).not.toBe(a);
  });

  it('cannot be confused by separators inside the parts', () => {
    // "a:b" + "c" and "a" + "b:c" give the same human key but must not share a session.
    expect(sessionKeyOf('t', 'a:b', 'c')).toBe(sessionKeyOf('t', 'a', 'b:c'));
    expect(sessionIdOf('t', 'a:b', 'c')).not.toBe(sessionIdOf('t', 'a', 'b:c'));
  });

  it('separates kinds', () => {
    expect(senderIdOf('talk-main', 'users/alice')).toMatch(/^snd_[0-9a-f]{40}$/);
    expect(channelIdOf('talk-main')).toMatch(/^chn_[0-9a-f]{40}$/);
    expect(senderIdOf('a', 'b').slice(4)).not.toBe(sessionIdOf('a', 'b', '').slice(4));
  });
});
