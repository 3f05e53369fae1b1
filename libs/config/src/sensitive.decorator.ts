import 'reflect-metadata';

const SENSITIVE = Symbol('palisade:sensitive');

/** Marks a config field whose value must never be logged (masked by describeConfig). */
export function Sensitive(): PropertyDecorator {
  return (target, key) => {
    const keys: Set<string | symbol> = Reflect.getMetadata(SENSITIVE, target) ?? new Set();
    keys.add(key);
    Reflect.defineMetadata(SENSITIVE, keys, target);
  };
}

export function isSensitive(target: object, key: string): boolean {
  const keys: Set<string | symbol> | undefined = Reflect.getMetadata(SENSITIVE, target);
  return keys?.has(key) ?? false;
}
