import { KernelError, type ServiceHandle } from "./contract";

/** Exactly one provider per service handle; distinct handles may not share an id either. */
export class ServiceRegistry {
  private readonly byHandle = new Map<ServiceHandle<unknown>, { impl: unknown; owner: string }>();
  private readonly byId = new Map<string, { handle: ServiceHandle<unknown>; owner: string }>();

  provide<T>(owner: string, h: ServiceHandle<T>, impl: T): () => void {
    const key = h as ServiceHandle<unknown>;
    const existing = this.byId.get(h.id);
    if (existing) {
      const detail =
        existing.handle === key
          ? ""
          : " (through a different handle object with the same id; define each handle once)";
      throw new KernelError(
        "KERNEL_DUPLICATE_SERVICE",
        `extension "${owner}" provides service "${h.id}", which extension "${existing.owner}" already provides${detail}`,
        { extensionId: owner },
      );
    }
    const entry = { impl, owner };
    this.byHandle.set(key, entry);
    this.byId.set(h.id, { handle: key, owner });
    return () => {
      if (this.byHandle.get(key) !== entry) return;
      this.byHandle.delete(key);
      this.byId.delete(h.id);
    };
  }

  has(h: ServiceHandle<unknown>): boolean {
    return this.byHandle.has(h);
  }

  tryGet<T>(h: ServiceHandle<T>): T | undefined {
    return this.byHandle.get(h as ServiceHandle<unknown>)?.impl as T | undefined;
  }

  get<T>(asker: string, h: ServiceHandle<T>): T {
    const entry = this.byHandle.get(h as ServiceHandle<unknown>);
    if (!entry) {
      throw new KernelError(
        "KERNEL_SERVICE_NOT_FOUND",
        `"${asker}" asked for service "${h.id}", which nothing provides; add its handle to the manifest's needs ` +
          `(is it installed and active?) or use tryGet for an optional service`,
        { extensionId: asker },
      );
    }
    return entry.impl as T;
  }
}
