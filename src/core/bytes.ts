/** Printable rendering of untrusted bytes for error messages and logs: control bytes escaped, length capped. */
export function quoteBytes(input: Buffer | string, max = 80): string {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  if (text.length <= max && !needsEscape(text)) return text;
  let out = '';
  for (const ch of text) {
    if (out.length >= max) return `${out}…`;
    const c = ch.codePointAt(0) ?? 0;
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** Whether any character of `text` is one quoteBytes escapes (the common case, server text, has none). */
function needsEscape(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x5c || (c >= 0x7f && c < 0xa0)) return true;
  }
  return false;
}
