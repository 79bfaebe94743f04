// The rule of a conversation's tags, as bus/event checks it (ValidTag,
// MaxTags): kept here so the inbox refuses a bad tag before asking.

/** At most this many tags on a conversation (bus/event.MaxTags). */
export const maxTags = 20;

/** A normalized tag: 1 to 40 lowercase letters or digits of any script, '-' or '_', not first (bus/event.ValidTag). */
export const tagRule = /^[\p{Ll}\p{N}][\p{Ll}\p{N}_-]{0,39}$/u;

/** The tag as it is stored: trimmed and lowercased. */
export function normalizeTag(s: string): string {
  return s.trim().toLowerCase();
}

/** The tags typed in text (separated by commas or spaces), normalized; the first invalid one, if any. */
export function parseTags(text: string): { tags: string[]; invalid?: string } {
  const tags: string[] = [];
  for (const raw of text.split(/[\s,]+/u)) {
    if (!raw) continue;
    const tag = normalizeTag(raw);
    if (!tagRule.test(tag)) return { tags, invalid: raw };
    if (!tags.includes(tag)) tags.push(tag);
  }
  return { tags };
}
