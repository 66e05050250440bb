/** What a thrown value says, for a log line or a SendOutcome's `error`. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
