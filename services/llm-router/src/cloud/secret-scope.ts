import { registerSecret, unregisterSecret } from '@palisade/telemetry';

// Reference counts, so two concurrent calls with the same key do not unmask it for each other.
const inUse = new Map<string, number>();

/** Masks `value` in every log line while `use` runs, and forgets it afterwards. */
export async function withMaskedSecret<T>(value: string, use: () => Promise<T>): Promise<T> {
  inUse.set(value, (inUse.get(value) ?? 0) + 1);
  registerSecret(value);
  try {
    return await use();
  } finally {
    const left = (inUse.get(value) ?? 1) - 1;
    if (left > 0) inUse.set(value, left);
    else {
      inUse.delete(value);
      unregisterSecret(value);
    }
  }
}
