/** What the Received chain and Authentication-Results of a delivered message say (RFC 5321 4.4, RFC 8601). */

export interface Hop {
  /** 1 = the first relay the message passed (transit order, the reverse of header order). */
  index: number;
  from: string | null;
  by: string | null;
  with: string | null;
  id: string | null;
  for: string | null;
  /** The hop's own timestamp, ISO; null when missing or unreadable. */
  date: string | null;
  /** Time since the previous hop (or since the message's Date header for the first), ms; null when unknown. */
  delayMs: number | null;
  /** The header as received, unfolded and truncated (bounded). */
  raw: string;
}

export interface AuthResults {
  /** The authserv-id of the Authentication-Results header used (the last one added, i.e. topmost). */
  authservId: string | null;
  spf: string | null;
  dkim: string | null;
  dmarc: string | null;
  /** Other methods seen, e.g. { arc: "none" }. */
  other: Record<string, string>;
  /**
   * Added: every resinfo of that header in order (bounded), with its ptype.property values, e.g.
   * { method: "spf", result: "pass", reason: null, props: { "smtp.mailfrom": "a@example.org" } }. spf/dmarc and the
   * `other` values are the first of their method; dkim is the first "pass", else the first (see `selectMethod`).
   */
  methods?: AuthMethodResult[];
}

/** One `method=result [reason=...] [ptype.property=value ...]` of an Authentication-Results header (RFC 8601 2.2). */
export interface AuthMethodResult {
  /** Lower case, method version dropped: "dkim", "spf", "arc". */
  method: string;
  /** Lower case: "pass", "fail", "none", ... */
  result: string;
  reason: string | null;
  /** "header.d" → "example.org"; keys lower case; also non-dotted extras such as Microsoft's "action". */
  props: Record<string, string>;
}

export interface HeaderAnalysis {
  hops: Hop[];
  /** From the message's Date (or the first hop) to the last hop, ms. */
  transitMs: number | null;
  authResults: AuthResults | null;
  /**
   * Added: Received headers beyond `maxHops` that were not analysed (the bottom-most, oldest ones); 0 when none. Counted
   * among the fields read, which parseHeaderBlock bounds (1000 by default).
   */
  omittedHops?: number;
}

/** One unfolded header field (parseHeaderBlock). */
export interface HeaderField {
  /** Lower case ("received"): header names are case-insensitive. */
  name: string;
  /** Unfolded, control characters removed, trimmed, at most `maxFieldLength` characters. */
  value: string;
}

export interface HeaderBlockLimits {
  /** Stop after this many fields (default 1000). */
  maxHeaders?: number;
  /** Keep at most this many characters of each field's value (default 16384); the rest is skipped. */
  maxFieldLength?: number;
}

/** What one Received header says (parseReceived). Every string is cleaned and at most 255 characters. */
export interface ReceivedFields {
  from: string | null;
  by: string | null;
  via: string | null;
  with: string | null;
  /** Angle brackets of a msg-id removed. */
  id: string | null;
  /** Angle brackets removed: "probe@probe.test". */
  for: string | null;
  /** The first IP address in the from clause (its comment, e.g. "(localhost [127.0.0.1])", or an address literal). */
  fromIp: string | null;
  /** ISO; null when missing or unreadable. */
  date: string | null;
}
