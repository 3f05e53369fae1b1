import { isRpcReply, RpcError, RpcErrorCode, rpcFail, rpcOk, unwrapRpcReply } from './rpc';

describe('rpc replies', () => {
  it('builds ok and failed replies in the wire shape', () => {
    expect(rpcOk({ n: 1 })).toEqual({ ok: true, data: { n: 1 } });
    expect(rpcFail('not_found', 'no such job')).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no such job' },
    });
    expect(new RpcError(RpcErrorCode.ValidationFailed, 'bad', [{ path: 'x' }]).toReply()).toEqual({
      ok: false,
      error: { code: 'validation_failed', message: 'bad', details: [{ path: 'x' }] },
    });
  });

  it('unwraps data or throws the typed error', () => {
    expect(unwrapRpcReply<number>({ ok: true, data: 5 })).toBe(5);
    expect(() => unwrapRpcReply({ ok: false, error: { code: 'conflict', message: 'taken' } })).toThrow(
      expect.objectContaining({ name: 'RpcError', code: 'conflict', message: 'taken' }),
    );
    expect(() => unwrapRpcReply({ ok: false, error: { code: 'teapot', message: 'x' } })).toThrow(/malformed/);
    expect(() => unwrapRpcReply('nope')).toThrow(/malformed/);
  });

  it('recognises replies structurally', () => {
    expect(isRpcReply({ ok: true, data: null })).toBe(true);
    expect(isRpcReply({ ok: true })).toBe(false);
    expect(isRpcReply({ ok: false, error: { code: 'timeout', message: 'slow' } })).toBe(true);
    expect(isRpcReply({ ok: false, error: { code: 'timeout' } })).toBe(false);
  });

  it('does not leak the text of unexpected errors', () => {
    const wrapped = RpcError.from(new Error('password=hunter2 in stack'));
    expect(wrapped.toReply()).toEqual({ ok: false, error: { code: 'internal', message: 'internal error' } });
    const own = new RpcError('forbidden', 'no');
    expect(RpcError.from(own)).toBe(own);
  });
});
