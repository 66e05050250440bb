/**
 * A compile-time check that two types are the same: every field present in both, with the same optionality,
 * nullability and type, nested objects included. `assertSameType<A, B>(true)` compiles only when they are;
 * otherwise the argument must be `false` and the call is an error. It does nothing at run time.
 */
export type SameType<A, B> =
  (<T>() => T extends Normal<A> ? 1 : 2) extends (<T>() => T extends Normal<B> ? 1 : 2) ? true : false;

/** Objects rebuilt field by field (readonly dropped), so that `A & B` and `{ ...A, ...B }` compare equal. */
type Normal<T> = T extends (infer E)[] | readonly (infer E)[]
  ? Normal<E>[]
  : T extends object
    ? { -readonly [K in keyof T]: Normal<T[K]> }
    : T;

export function assertSameType<A, B>(same: SameType<A, B>): void {
  void same;
}
