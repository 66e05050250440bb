/** The header fields every test message carries (smtp/message.ts writes them, mailbox/ finds messages by them). */
export const PROBE_ID_FIELD = 'X-Smtp-Probe-Id';
export const PROBE_TARGET_FIELD = 'X-Smtp-Probe-Target';
