// Unit test of socket.ts's frame parsing, compiled with the project's own
// TypeScript and run with node:test (webui/ui's Go tests run it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { importTS } from "../tsmodule.mjs";

const { frames, helloId, replyAnswer } = await importTS(new URL("./socket.ts", import.meta.url));

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

test("reply answers are told apart by request id; other frames are none", () => {
  const result = { type: "reply_result", request_id: "r1", conversation: summary, entry };
  assert.deepEqual(replyAnswer(result), { requestId: "r1", outcome: { result: { conversation: summary, entry } } });
  assert.deepEqual(frames(result), []);
  const error = {
    type: "reply_error",
    request_id: "r2",
    status: 409,
    error: { code: "conflict", message: "not yours", field: "text" },
  };
  assert.deepEqual(replyAnswer(error), {
    requestId: "r2",
    outcome: { refused: { status: 409, code: "conflict", message: "not yours", field: "text" } },
  });
  const limited = { type: "reply_error", request_id: "r3", status: 429, error: { code: "rate_limited", message: "m" } };
  assert.deepEqual(replyAnswer(limited), {
    requestId: "r3",
    outcome: { refused: { status: 429, code: "rate_limited", message: "m" } },
  });
  assert.equal(replyAnswer({ type: "reply_result", request_id: "r1", entry }), undefined);
  assert.equal(replyAnswer({ type: "reply_result", conversation: summary, entry }), undefined);
  assert.equal(replyAnswer({ type: "message", request_id: "r1", conversation_id: "c1", entry }), undefined);
  assert.equal(replyAnswer(null), undefined);
});
