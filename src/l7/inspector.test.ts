/**
 * FlowInspector.appId / result for a flow that carried no payload yet: the application is the
 * well-known-port guess, labelled "port" (resultInto and the summary's per-id sums read it so).
 */
import { expect, test } from "bun:test";
import { FlowTable } from "../flows/table/table.ts";
import { pkt } from "../flows/test-packets.ts";
import { APP } from "./apps.ts";
import { FlowInspector } from "./inspector.ts";

test("a flow without payload: the port guess, decided by port; none for an unlisted port", () => {
  const t = new FlowTable();
  const ins = new FlowInspector(t);
  const tls = t.add(pkt("10.0.0.9", 40000, "10.0.0.1", 443, 6, 2), 1, 60); // a SYN, no payload
  const odd = t.add(pkt("10.0.0.9", 40001, "10.0.0.1", 47_123, 6, 2), 1, 60);
  expect(ins.appId(tls)).toBe(APP.tls);
  expect(ins.appByPort).toBe(true);
  expect(ins.result(tls)).toEqual({ app: "tls", app_source: "port", server_name: null });
  expect(ins.appId(odd)).toBe(0);
  expect(ins.result(odd)).toEqual({ app: null, app_source: null, server_name: null });
});
