/**
 * The exporter Worker: one IpfixSender (encoder + UDP socket) fed by the IPFIX sink's MessagePort,
 * so encoding (≈ 0.5 µs per flow) and sends (≈ 2-5 µs per datagram) never run on the capture
 * thread. A thin adapter; messages and counters in ipfix-protocol.ts.
 *
 * Batches are sent in the order they arrive (one port: RFC 7011 sequence numbers stay in order),
 * each read from the shared ring (ipfix-protocol.ts). After each batch the counters are published
 * and the batch counter notified: its part of the ring is free again (the sink's backpressure).
 * `null` on the port is the end: the socket is closed and "closed" posted; the sink then
 * terminates the Worker.
 */
import { IpfixSender } from "./ipfix-sender.ts";
import { FlowColumns } from "../flows/table/columns.ts";
import {
  C_BYTES, C_FLOWS, C_MESSAGES, C_PROCESSED, C_SEND_ERRORS, C_TEMPLATE_MESSAGES, counterViews,
  type ExportBatch, type ExporterInit, type FromExporter,
} from "./ipfix-protocol.ts";

declare const self: Worker;

const post = (m: FromExporter) => self.postMessage(m);

self.onmessage = (ev: MessageEvent<ExporterInit>) => {
  const m = ev.data;
  if (m.type !== "init") return;
  const { f64, done } = counterViews(m.counters);
  const sender = new IpfixSender(m.config);
  // The ring as flow columns (a batch is slots [at, at + count) of it). Written once here, so its
  // pages are resident before the first batch: the page faults are this thread's, not the
  // capture thread's (6.8 MB: ~1,700 faults by default).
  const ring = FlowColumns.wrap(new Int32Array(m.ring.key), m.ring.rec);
  ring.key.fill(0);
  ring.f64.fill(0);
  let reported: string | null = null;
  let processed = 0;
  const publish = () => {
    const e = sender.encoder;
    f64[C_FLOWS] = sender.flows;
    f64[C_MESSAGES] = e.messages;
    f64[C_TEMPLATE_MESSAGES] = e.templateMessages;
    f64[C_BYTES] = sender.bytes;
    f64[C_SEND_ERRORS] = sender.sendErrors;
    f64[C_PROCESSED] = processed;
    // The batch's slot is free again from here on (the sink waits on or reads this counter).
    Atomics.add(done, 0, 1);
    Atomics.notify(done, 0);
    if (sender.lastError !== null && sender.lastError !== reported) {
      reported = sender.lastError;
      post({ type: "error", message: reported });
    }
  };
  const end = () => {
    publish();
    m.port.close();
    post({ type: "closed", lastError: sender.lastError });
  };
  sender.open().then(() => {
    m.port.onmessage = (e: MessageEvent<ExportBatch | null>) => {
      const b = e.data;
      if (b === null) {
        sender.close();
        end();
        return;
      }
      if (b.at >= 0 && b.at + b.count <= ring.capacity) sender.sendBatch(b, ring);
      processed += b.count;
      publish();
    };
    post({ type: "ready" });
  }, (err: unknown) => {
    // Nothing can be sent: every batch still posted is taken off the port and counted as not sent.
    const message = err instanceof Error ? err.message : String(err);
    sender.lastError = message;
    m.port.onmessage = (e: MessageEvent<ExportBatch | null>) => {
      if (e.data === null) {
        end();
        return;
      }
      processed += e.data.count;
      publish();
    };
    post({ type: "failed", message });
  });
};
