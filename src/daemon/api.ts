/**
 * The JSON API under `/api/v1/` (docs/api.md): what the status page shows, as data.
 *   GET /api/v1/targets[?status=ok|failing|pending]   every target (TargetView), in config order
 *   GET /api/v1/targets/{name}                        one target with its history and last records (TargetDetail)
 *   GET /api/v1/alerts                                the alerts firing now and the last 50 alert events
 * Errors are JSON too: `{ "error": "..." }` with 400 (a bad parameter) or 404 (no such target or path).
 */
import type { StatusSource, TargetStatus } from '../history/view.js';
import type { HttpReply } from '../server/http.js';
import { decodedSegment } from './segment.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const STATUSES: readonly TargetStatus[] = ['ok', 'failing', 'pending'];

const json = (status: number, body: unknown): HttpReply => ({ status, contentType: JSON_TYPE, body: `${JSON.stringify(body)}\n` });
const error = (status: number, message: string): HttpReply => json(status, { error: message });

/** `rest`: the path after `/api/v1/`, still percent-encoded. Never null: an unknown path is a JSON 404. */
export async function apiReply(src: StatusSource, rest: string, query: URLSearchParams): Promise<HttpReply | null> {
  if (rest === 'targets') return targetList(src, query);
  if (rest === 'alerts') return json(200, src.alerts());
  if (rest.startsWith('targets/')) {
    const raw = rest.slice('targets/'.length);
    const name = decodedSegment(raw);
    if (name === null && !raw.includes('/')) return error(400, `the target name "${raw}" is not valid percent-encoding`);
    const detail = name === null ? null : src.target(name);
    return detail ? json(200, detail) : error(404, `no target "${name ?? raw}" (GET /api/v1/targets lists them)`);
  }
  return error(404, `no API path /api/v1/${rest} (there are /api/v1/targets, /api/v1/targets/{name}, /api/v1/alerts)`);
}

function targetList(src: StatusSource, query: URLSearchParams): HttpReply {
  const wanted = query.get('status');
  if (wanted !== null && !(STATUSES as readonly string[]).includes(wanted)) {
    return error(400, `status must be one of ${STATUSES.join(', ')}, not "${wanted}"`);
  }
  const targets = src.targets();
  return json(200, wanted === null ? targets : targets.filter((t) => t.status === wanted));
}
