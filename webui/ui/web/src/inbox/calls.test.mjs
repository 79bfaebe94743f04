// Unit test of calls.ts, compiled with the project's own TypeScript and
// run with node:test (webui/ui's Go tests run it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { importTS } from "../tsmodule.mjs";

const { duration, running, logLine, caseKey, callbackNumber, telHref, controllable, live, stateKey, endReasonKey } = await importTS(
  new URL("./calls.ts", import.meta.url),
);

test("durations read m:ss, and h:mm:ss from an hour", () => {
  assert.equal(duration(0), "0:00");
  assert.equal(duration(999), "0:00");
  assert.equal(duration(272_000), "4:32");
  assert.equal(duration(3_600_000 + 65_000), "1:01:05");
  assert.equal(duration(-5), "0:00");
});

test("the running time is the talk since answered, the hold since held, or the whole call once ended", () => {
  const now = Date.parse("2026-11-23T10:05:00Z");
  assert.deepEqual(running({ state: "answered", answered_at: "2026-11-23T10:03:30Z" }, now), {
    key: "inbox.call.talking",
    vars: { time: "1:30" },
  });
  assert.deepEqual(running({ state: "held", answered_at: "2026-11-23T10:00:00Z", held_since: "2026-11-23T10:04:48Z" }, now), {
    key: "inbox.call.held_for",
    vars: { time: "0:12" },
  });
  assert.deepEqual(running({ state: "ended", duration_ms: 61_000 }, now), { key: "inbox.call.lasted", vars: { time: "1:01" } });
  assert.equal(running({ state: "ringing" }, now), undefined);
  assert.equal(running({ state: "answered" }, now), undefined);
});

test("call log lines name agents and queues, and the target of a transfer", () => {
  const names = (id) => ({ a1: "Alice" })[id] ?? id;
  const queues = (id) => ({ billing: "Billing" })[id] ?? id;
  const line = (e) => logLine({ id: "x", call_id: "c", time: "", ...e }, names, queues);
  assert.deepEqual(line({ kind: "answered", agent_id: "a1" }), { key: "inbox.call.log.answered", vars: { name: "Alice" } });
  assert.deepEqual(line({ kind: "transferred", to_queue: "billing" }), { key: "inbox.call.log.transferred_queue", vars: { queue: "Billing" } });
  assert.deepEqual(line({ kind: "transferred", to_agent_id: "zz" }), { key: "inbox.call.log.transferred_agent", vars: { name: "zz" } });
  assert.deepEqual(line({ kind: "transferred", to_number: "+331" }), { key: "inbox.call.log.transferred_number", vars: { number: "+331" } });
  assert.deepEqual(line({ kind: "ended", duration_ms: 272_000 }), { key: "inbox.call.log.ended", vars: { time: "4:32" } });
  assert.deepEqual(line({ kind: "started", from: "anonymous" }), { key: "inbox.call.log.started_anonymous" });
  assert.deepEqual(line({ kind: "started", from: "+33612345678" }), { key: "inbox.call.log.started", vars: { number: "+33612345678" } });
  assert.deepEqual(line({ kind: "recorded", recording_kind: "voicemail", duration_ms: 12_000 }), {
    key: "inbox.call.log.voicemail",
    vars: { time: "0:12" },
  });
  assert.deepEqual(line({ kind: "resumed", duration_ms: 1500 }), { key: "inbox.call.log.resumed", vars: { time: "0:01" } });
});

test("cases, callback numbers and tel: links", () => {
  assert.equal(caseKey({ case: "voicemail" }), "inbox.call.case.voicemail");
  assert.equal(caseKey({ case: "callback" }), "inbox.call.case.callback");
  assert.equal(caseKey({}), undefined);
  assert.equal(caseKey(undefined), undefined);
  assert.equal(callbackNumber({ from: "anonymous", callback: { number: "+33633333333" } }), "+33633333333");
  assert.equal(callbackNumber({ from: "+33622222222" }), "+33622222222");
  assert.equal(callbackNumber({ from: "anonymous" }), undefined);
  assert.equal(telHref("+33 6 12-34-56-78"), "tel:+33612345678");
  assert.equal(telHref("sip:alice@example.org"), undefined);
  assert.equal(telHref("javascript:alert(1)"), undefined);
});

test("states: live calls, hold control, labels", () => {
  assert.equal(live({ state: "ringing" }), true);
  assert.equal(live({ state: "ended" }), false);
  assert.equal(live(undefined), false);
  assert.equal(controllable({ state: "answered" }), true);
  assert.equal(controllable({ state: "held" }), true);
  assert.equal(controllable({ state: "ringing" }), false);
  assert.equal(stateKey("held"), "inbox.call.state.held");
  assert.equal(endReasonKey("voicemail"), "inbox.call.end.voicemail");
  assert.equal(endReasonKey(undefined), undefined);
});
