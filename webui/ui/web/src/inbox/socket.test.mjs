// Unit test of socket.ts's frame parsing, compiled with the project's own
// TypeScript and run with node:test (webui/ui's Go tests run it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { importTS } from "../tsmodule.mjs";

const { frames, helloId } = await importTS(new URL("./socket.ts", import.meta.url));

const entry = { message_id: "m1", direction: "in", text: "Bonjour" };
const summary = { id: "c1", status: "assigned", last_activity: "2026-11-23T10:00:00Z" };

test("a message frame with a summary is the conversation frame, then the message", () => {
  assert.deepEqual(frames({ type: "message", conversation_id: "c1", entry, conversation: summary }), [
    { type: "conversation", conversation: summary, withMessage: true },
    { type: "message", conversation_id: "c1", entry },
  ]);
});

test("a message frame without a summary stays one frame", () => {
  assert.deepEqual(frames({ type: "message", conversation_id: "c1", entry }), [
    { type: "message", conversation_id: "c1", entry },
  ]);
});

test("other frames pass through; malformed ones are dropped", () => {
  const conv = { type: "conversation", conversation: summary };
  assert.deepEqual(frames(conv), [conv]);
  const typing = { type: "typing", conversation_id: "c1", from: "visitor", active: true };
  assert.deepEqual(frames(typing), [typing]);
  assert.deepEqual(frames({ type: "message", conversation_id: "c1" }), []);
  assert.deepEqual(frames({ type: "nope" }), []);
  assert.deepEqual(frames(null), []);
  assert.deepEqual(frames("message"), []);
});

test("the hello frame names the socket and is no inbox frame", () => {
  const hello = { type: "hello", socket_id: "1-3k9x0f2a" };
  assert.equal(helloId(hello), "1-3k9x0f2a");
  assert.deepEqual(frames(hello), []);
  assert.equal(helloId({ type: "hello" }), undefined);
  assert.equal(helloId({ type: "hello", socket_id: "" }), undefined);
  assert.equal(helloId({ type: "hello", socket_id: 7 }), undefined);
  assert.equal(helloId({ type: "conversation", socket_id: "x" }), undefined);
  assert.equal(helloId(null), undefined);
});
