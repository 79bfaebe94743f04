// Unit test of highlight.ts: compiled to JavaScript with the project's own
// TypeScript (no other tool), then imported and run with node:test.
// Run: node --test src/search/highlight.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { importTS } from "../tsmodule.mjs";

const { segments } = await importTS(new URL("./highlight.ts", import.meta.url));

const enc = new TextEncoder();
/** The byte range of the first occurrence of word in s, as the server gives it. */
function byteRange(s, word) {
  const i = s.indexOf(word);
  return [enc.encode(s.slice(0, i)).length, enc.encode(s.slice(0, i + word.length)).length];
}
const marked = (segs) => segs.filter((x) => x.mark).map((x) => x.text);
const joined = (segs) => segs.map((x) => x.text).join("");

test("ASCII offsets mark the words", () => {
  const s = "the refund was not received";
  const segs = segments(s, [byteRange(s, "refund"), byteRange(s, "received")]);
  assert.deepEqual(marked(segs), ["refund", "received"]);
  assert.equal(joined(segs), s);
});

test("byte offsets after accents, Cyrillic, CJK and emoji", () => {
  for (const [s, w] of [
    ["Überweisung für Rückerstattung", "Rückerstattung"],
    ["Здравствуйте, возврат денег не пришёл", "возврат"],
    ["退款 refund 退款", "refund"],
    ["😀😀 colis perdu 😀", "perdu"],
    ["élève 😀 école", "école"],
  ]) {
    const segs = segments(s, [byteRange(s, w)]);
    assert.deepEqual(marked(segs), [w], s);
    assert.equal(joined(segs), s);
  }
});

test("overlapping, unsorted and out-of-range marks", () => {
  const s = "abcdef";
  assert.deepEqual(segments(s, [[3, 5], [0, 2], [1, 4], [4, 100], [-5, 0], [5, 2]]), [{ text: "abcdef", mark: true }]);
  assert.deepEqual(segments(s, [[2, 3], [3, 4]]), [
    { text: "ab", mark: false },
    { text: "cd", mark: true },
    { text: "ef", mark: false },
  ]);
});

test("an offset inside a character widens to the whole character", () => {
  const s = "aé b"; // é is bytes 1-2
  assert.deepEqual(marked(segments(s, [[2, 3]])), ["é"]);
  const e = "x😀y"; // 😀 is bytes 1-4
  assert.deepEqual(marked(segments(e, [[2, 3]])), ["😀"]);
});

test("no marks, bad marks and markup stay text", () => {
  const s = "<b>not bold</b> & <script>";
  assert.deepEqual(segments(s, undefined), [{ text: s, mark: false }]);
  assert.deepEqual(segments(s, [["x", "y"], [1], null]), [{ text: s, mark: false }]);
  assert.deepEqual(segments("", [[0, 3]]), []);
});
