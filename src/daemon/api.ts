import type { StatusSource } from '../history/view.js';
import type { HttpReply } from '../server/http.js';

/**
 * `GET /api/v1/targets`, `/api/v1/targets/{name}`, `/api/v1/alerts` (`rest`: the path after `/api/v1/`, still
 * percent-encoded). JSON; null: not found.
 */
export async function apiReply(src: StatusSource, rest: string, query: URLSearchParams): Promise<HttpReply | null> {
  void src;
  void rest;
  void query;
  return null; // TODO(history): the JSON API
}
