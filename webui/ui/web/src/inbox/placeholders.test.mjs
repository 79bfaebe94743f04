// Unit test of placeholders.ts: compiled to JavaScript with the project's
// own TypeScript (no other tool), then imported and run with node:test.
// Run: node --test src/inbox/placeholders.test.mjs (webui/ui's Go tests do).
import { test } from "node:test";
import assert from "node:assert/strict";
import { importTS } from "../tsmodule.mjs";

const { fillPlaceholders, placeholderNames } = await importTS(new URL("./placeholders.ts", import.meta.url));

const all = {
  "customer.name": "Ada Lovelace",
  "customer.address": "ada@example.org",
  "case.number": "conv-42",
  "agent.name": "Grace",
  "queue.name": "Billing",
};

test("fills every known placeholder", () => {
  const r = fillPlaceholders(
    "Hello {{customer.name}} ({{customer.address}}), case {{case.number}}: {{agent.name}} from {{queue.name}}.",
    all,
  );
  assert.equal(r.text, "Hello Ada Lovelace (ada@example.org), case conv-42: Grace from Billing.");
  assert.deepEqual(r.missing, []);
});

test("names the five placeholders", () => {
  assert.deepEqual([...placeholderNames].sort(), Object.keys(all).sort());
});

test("allows spaces inside the braces and repeats", () => {
  const r = fillPlaceholders("{{ customer.name }} / {{customer.name}}", all);
  assert.equal(r.text, "Ada Lovelace / Ada Lovelace");
});

test("leaves unknown placeholders visible", () => {
  const r = fillPlaceholders("Dear {{customer.title}} {{customer.name}}, {{order.id}} {{order.id}}", all);
  assert.equal(r.text, "Dear {{customer.title}} Ada Lovelace, {{order.id}} {{order.id}}");
  assert.deepEqual(r.missing, ["customer.title", "order.id"]);
});

test("leaves empty or blank values visible", () => {
  const r = fillPlaceholders("Hi {{customer.name}} at {{customer.address}}", { "customer.name": "  ", "customer.address": undefined });
  assert.equal(r.text, "Hi {{customer.name}} at {{customer.address}}");
  assert.deepEqual(r.missing, ["customer.name", "customer.address"]);
});

test("inserts values literally, never as patterns or markup", () => {
  const r = fillPlaceholders("Hi {{customer.name}}!", { "customer.name": "$& <b>{{agent.name}}</b> $1" });
  assert.equal(r.text, "Hi $& <b>{{agent.name}}</b> $1!");
  assert.deepEqual(r.missing, []);
});

test("keeps text without placeholders and single braces", () => {
  const text = "Plain {text} with {single} braces and {{ broken";
  assert.deepEqual(fillPlaceholders(text, all), { text, missing: [] });
});
