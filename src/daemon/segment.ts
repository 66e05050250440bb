/**
 * A target name as one path segment, decoded; null when it is not one segment (a raw `/`: names are sent
 * percent-encoded, `encodeURIComponent`) or not valid percent-encoding. The pages, badges and API agree on it.
 */
export function decodedSegment(segment: string): string | null {
  if (segment.includes('/')) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
