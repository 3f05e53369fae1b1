import { isJsonValue, jcs, JcsError, toJsonObject } from './jcs';

describe('jcs', () => {
  it('sorts keys, strips whitespace and serialises numbers as ECMAScript does (RFC 8785)', () => {
    expect(jcs({ b: 1, a: [true, null, 'x'], c: { z: 1e21, y: 0.1, x: -0 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"c":{"x":0,"y":0.1,"z":1e+21}}',
    );
    // RFC 8785 §3.2.3 example: keys sort by UTF-16 code units (U+FB33 after the surrogate pair).
    const sample = {
      '\u20ac': 'Euro',
      '\r': 'CR',
      '\ufb33': 'Hebrew',
      '1': 'One',
      '\ud83d\ude00': 'Smiley',
      '\u0080': 'Ctl',
      '\u00f6': 'ö',
    };
    expect(jcs(sample)).toBe(
      '{"\\r":"CR","1":"One","\u0080":"Ctl","ö":"ö","€":"Euro","😀":"Smiley","\ufb33":"Hebrew"}',
    );
    expect(jcs('é\u0001"')).toBe('"é\\u0001\\""');
  });

  it.each([
    ['undefined property', { a: undefined }],
    ['undefined in array', [1, undefined]],
    ['NaN', { a: NaN }],
    ['Infinity', [Infinity]],
    ['bigint', { a: 1n }],
    ['function', { a: () => 1 }],
    ['Date', { a: new Date(0) }],
    ['Map', new Map()],
    ['Buffer', Buffer.from('x')],
  ])('refuses %s', (_name, value) => {
    expect(() => jcs(value)).toThrow(JcsError);
    expect(isJsonValue(value)).toBe(false);
  });

  it('refuses cycles', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => jcs(a)).toThrow(/circular/);
  });

  it('toJsonObject drops undefined properties but keeps "__proto__" as data', () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true},"a":1}');
    const copy = toJsonObject({ ...parsed, b: undefined });
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => toJsonObject({ a: [undefined] })).toThrow(JcsError);
  });
});
