// Fills the placeholders of canned answers and scripts ({{customer.name}}
// and the like). Pure and dependency-free, so placeholders.test.mjs runs
// it under node. A placeholder with no value is left as written, so the
// agent sees what still needs filling before sending.

/** The placeholders canned answers may use. */
export const placeholderNames = ["customer.name", "customer.address", "case.number", "agent.name", "queue.name"] as const;

export type PlaceholderName = (typeof placeholderNames)[number];

export type PlaceholderValues = Partial<Record<PlaceholderName, string | undefined>>;

export interface Filled {
  /** The text with every known, non-empty placeholder replaced. */
  text: string;
  /** Placeholders left in the text (unknown or empty), in order, once each. */
  missing: string[];
}

const pattern = /\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g;

function known(name: string): name is PlaceholderName {
  return (placeholderNames as readonly string[]).includes(name);
}

/** Replaces {{name}} (spaces inside the braces allowed) by values[name]. */
export function fillPlaceholders(text: string, values: PlaceholderValues): Filled {
  const missing: string[] = [];
  const out = text.replace(pattern, (whole, name: string) => {
    const v = known(name) ? values[name]?.trim() : undefined;
    if (v) return v;
    if (!missing.includes(name)) missing.push(name);
    return whole;
  });
  return { text: out, missing };
}
