/**
 * Servers started by the helpers register here; `closeAll()` in `afterEach` tears every one of them down
 * (listeners and open sockets), so a failing test cannot leak a server into the next one.
 */
export interface Closable {
  close(): Promise<void>;
}

const open = new Set<Closable>();

export function track<T extends Closable>(c: T): T {
  open.add(c);
  return c;
}

export function untrack(c: Closable): void {
  open.delete(c);
}

export async function closeAll(): Promise<void> {
  const all = [...open];
  open.clear();
  await Promise.allSettled(all.map((c) => c.close()));
}
