/**
 * The exporter Worker: one IpfixSender (encoder + UDP socket) fed by the IPFIX sink's MessagePort,
 * so encoding (≈ 0.5 µs per flow) and sends (≈ 2-5 µs per datagram) never run on the capture
 * thread. A thin adapter; messages and counters in ipfix-protocol.ts.
 *
 * Batches are sent in the order they arrive (one port: RFC 7011 sequence numbers stay in order).
 * After each batch the counters are published and the batch counter notified (the sink's
 * backpressure in file mode). `null` on the port is the end: the socket is closed and "closed"
 * posted; the sink then terminates the Worker.
 */
import { IpfixSender } from "./ipfix-sender.ts";
import {
  C_BYTES, C_FLOWS, C_MESSAGES, C_PROCESSED, C_SEND_ERRORS, C_TEMPLATE_MESSAGES, counterViews,
  type ExportBatch, type ExporterInit, type FromExporter, type ReturnedBuffers,
} from "./ipfix-protocol.ts";

declare const self: Worker;

const post = (m: FromExporter) => self.postMessage(m);

self.onmessage = (ev: MessageEvent<ExporterInit>) => {
  const m = ev.data;
  if (m.type !== "init") return;
  const { f64, done } = counterViews(m.counters);
  const sender = new IpfixSender(m.config);
  // The batch's buffers go back to the capture side (reused there instead of allocating).
  const back = m.back ?? null;
  const giveBack = (b: ExportBatch) => {
    if (back === null) return;
    const key = b.key.buffer as ArrayBuffer;
    try {
      back.postMessage({ key: b.key, rec: b.rec } satisfies ReturnedBuffers, key === b.rec ? [key] : [key, b.rec]);
    } catch {
      // Only an optimisation: the capture side allocates instead.
    }
  };
  // Buffers for the capture side's first batches, made resident here (the page faults are ours).
  if (back !== null && m.prefill !== undefined) {
    for (let k = 0; k < m.prefill.batches; k++) {
      const key = new Int32Array(m.prefill.keyWords), rec = new ArrayBuffer(m.prefill.recBytes);
      key.fill(0); // written, so resident (a fresh buffer's pages are not)
      new Uint8Array(rec).fill(0);
      try {
        back.postMessage({ key, rec } satisfies ReturnedBuffers, [key.buffer, rec]);
      } catch {
        break;
      }
    }
  }
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
    Atomics.add(done, 0, 1);
    Atomics.notify(done, 0);
    if (sender.lastError !== null && sender.lastError !== reported) {
      reported = sender.lastError;
      post({ type: "error", message: reported });
    }
  };
  sender.open().then(() => {
    m.port.onmessage = (e: MessageEvent<ExportBatch | null>) => {
      const b = e.data;
      if (b === null) {
        sender.close();
        publish();
        m.port.close();
        back?.close();
        post({ type: "closed", lastError: sender.lastError });
        return;
      }
      sender.sendBatch(b);
      processed += b.count;
      publish();
      giveBack(b);
    };
    post({ type: "ready" });
  }, (err: unknown) => {
    // Nothing can be sent: every batch still posted is taken off the port and counted as not sent.
    const message = err instanceof Error ? err.message : String(err);
    sender.lastError = message;
    m.port.onmessage = (e: MessageEvent<ExportBatch | null>) => {
      if (e.data === null) {
        publish();
        m.port.close();
        back?.close();
        post({ type: "closed", lastError: message });
        return;
      }
      processed += e.data.count;
      publish();
      giveBack(e.data);
    };
    post({ type: "failed", message });
  });
};
