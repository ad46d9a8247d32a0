import type { Logger } from "@dispatch/kernel";
import { ProviderError } from "./contract";
import type {
  BuiltinKind,
  Credential,
  CredentialKind,
  ListedModel,
  ProviderKind,
  ProviderKinds,
} from "./kind-contract";

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * The registry of installed provider kinds, checked once: kind ids are unique, built-in credential
 * names are unique and valid credential names, and at most one kind is the DISPATCH_* fallback.
 * Throws PROVIDER_INVALID_CONFIG naming the culprit; the result never changes (the catalog and its
 * config schema are built from one snapshot).
 */
export function createProviderKinds(kinds: readonly ProviderKind[]): ProviderKinds {
  const credentialKinds = new Map<string, CredentialKind>();
  const builtins = new Map<string, BuiltinKind>();
  const ids = new Set<string>();
  let fallback: string | undefined;
  for (const kind of kinds) {
    if (ids.has(kind.id)) invalid(`provider kind "${kind.id}" is installed twice; remove one`);
    ids.add(kind.id);
    if (kind.type === "credential") {
      if (kind.claimsDispatchEnv === "fallback") {
        if (fallback)
          invalid(`provider kinds "${fallback}" and "${kind.id}" are both the DISPATCH_* fallback`);
        fallback = kind.id;
      }
      credentialKinds.set(kind.id, kind);
    } else {
      if (!NAME.test(kind.credential))
        invalid(`provider kind "${kind.id}" reserves an invalid credential name "${kind.credential}"`);
      if (builtins.has(kind.credential))
        invalid(
          `provider kinds "${builtins.get(kind.credential)?.id}" and "${kind.id}" both reserve "${kind.credential}"`,
        );
      builtins.set(kind.credential, kind);
    }
  }
  const list = Object.freeze([...kinds]);
  return {
    list: () => list,
    credentialKind: (id) => credentialKinds.get(id),
    builtin: (credential) => builtins.get(credential),
  };
}

/** Pure: the kinds that serve configured credentials, in installation order. */
export function credentialKinds(kinds: ProviderKinds): CredentialKind[] {
  return kinds.list().flatMap((k) => (k.type === "credential" ? [k] : []));
}

/** Pure: the built-in kinds (reserved credentials such as `local`), in installation order. */
export function builtinKinds(kinds: ProviderKinds): BuiltinKind[] {
  return kinds.list().flatMap((k) => (k.type === "builtin" ? [k] : []));
}

/** Lists `credential`'s models through its kind (none when the kind does not list). Never throws. */
export async function listCredentialModels(
  kinds: ProviderKinds,
  credential: Credential,
  timeoutMs: number,
  logger: Logger,
): Promise<ListedModel[]> {
  return (await kinds.credentialKind(credential.kind)?.listModels?.(credential, timeoutMs, logger)) ?? [];
}

/**
 * One value per credential, made on first use and kept (a kind's SDK provider: the module import and
 * the provider object happen once per credential, on the first stream).
 */
export function perCredential<T>(make: (credential: Credential) => T): (credential: Credential) => T {
  const made = new WeakMap<Credential, T>();
  return (credential) => {
    if (!made.has(credential)) made.set(credential, make(credential));
    return made.get(credential) as T;
  };
}

function invalid(message: string): never {
  throw new ProviderError("PROVIDER_INVALID_CONFIG", message);
}
