/** Result constructors shared by the store's modules. */
import type { Result, StoreError } from "./contract";

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const fail = <T = never>(code: StoreError["code"], message: string): Result<T> => ({
  ok: false,
  error: { code, message },
});

export const unknownConversation = <T = never>(id: string, what?: string): Result<T> =>
  fail("STORE_UNKNOWN_CONVERSATION", `${what ? `${what}: ` : ""}conversation "${id}" does not exist`);

/** Pure: JSON text, or undefined when the value has no JSON form (BigInt, cycles, a bare function). */
export function serialize(value: unknown): string | undefined {
  try {
    return JSON.stringify(value) ?? undefined;
  } catch {
    return undefined;
  }
}
