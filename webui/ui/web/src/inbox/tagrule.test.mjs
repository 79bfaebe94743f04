// Unit test of tagrule.ts: the inbox's tag rule agrees with bus/event's
// ValidTag (its TestTags uses the same cases).
// Run: node --test src/inbox/tagrule.test.mjs (webui/ui's Go tests do).
import { test } from "node:test";
import assert from "node:assert/strict";
import { importTS } from "../tsmodule.mjs";

const { maxTags, normalizeTag, parseTags, tagRule } = await importTS(new URL("./tagrule.ts", import.meta.url));

test("valid and invalid tags, as bus/event sees them", () => {
  for (const ok of ["vip", "2nd-level", "a_b", "réclamation", "доставка", "straße", "٣", "ж".repeat(40)]) {
    assert.ok(tagRule.test(ok), ok);
  }
  for (const bad of ["", "VIP", "Доставка", "-x", "_x", "a b", "a.b", "a/b", "日本", "ж".repeat(41)]) {
    assert.ok(!tagRule.test(bad), bad);
  }
  assert.equal(maxTags, 20);
});

test("normalizes like the server", () => {
  assert.equal(normalizeTag(" VIP "), "vip");
  assert.equal(normalizeTag("Доставка"), "доставка");
});

test("parses commas and spaces, drops repeats, reports the first bad tag", () => {
  assert.deepEqual(parseTags(" VIP, colis  Réclamation,,vip "), { tags: ["vip", "colis", "réclamation"] });
  assert.deepEqual(parseTags(""), { tags: [] });
  assert.deepEqual(parseTags("ok, -bad, worse!"), { tags: ["ok"], invalid: "-bad" });
});
