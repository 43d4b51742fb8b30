/**
 * An ended-flow sink that posts batches through a MessagePort (to a consumer in another Worker,
 * such as the history store's Worker), transferring the buffers (no copy). The consumer
 * acknowledges each batch with any message on the port once it is done with it (in order); at
 * most `maxBatches` may be unacknowledged, and with `maxAgeMs` none may wait longer than that:
 * beyond either, offers are refused (the batcher drops and counts them). The age bound keeps the
 * queue at about maxAgeMs of the consumer's own rate, whatever that rate is (what a crash of the
 * consumer can lose, for the history store). Exception: the final flush at stop (batches of flows ended with reason shutdown: a finite
 * burst, at most the table, that must not be lost). close() waits for the acknowledgements still
 * due, at most `closeTimeoutMs`, then posts `null`: the consumer has had every batch once it reads
 * that (messages on one port arrive in order).
 */
import { EndReason, FlowColumns } from "../flows/table/columns.ts";
import type { EndedBatch, EndedFlowSink } from "../flows/sinks.ts";

export interface PortSinkConfig {
  name: string;
  port: MessagePort;
  maxBatches?: number;
  /** Refuse offers while the oldest unacknowledged batch was posted longer ago than this (default: no limit). */
  maxAgeMs?: number;
  closeTimeoutMs?: number;
}

export class PortSink implements EndedFlowSink {
  readonly name: string;
  private inFlight = 0;
  /** performance.now() of each unacknowledged batch, oldest first (only with maxAgeMs). */
  private readonly sent: number[] = [];
  private drained: (() => void) | null = null;

  constructor(private readonly config: PortSinkConfig) {
    this.name = config.name;
    config.port.onmessage = () => {
      this.inFlight = Math.max(0, this.inFlight - 1);
      this.sent.shift();
      if (this.inFlight === 0) this.drained?.();
    };
  }

  offer(batch: EndedBatch): boolean {
    const age = this.config.maxAgeMs;
    const full = this.inFlight >= (this.config.maxBatches ?? 8) ||
      (age !== undefined && this.sent.length > 0 && performance.now() - this.sent[0]! > age);
    if (full && !isShutdownFlush(batch)) return false;
    if (age !== undefined) this.sent.push(performance.now());
    this.inFlight++;
    this.config.port.postMessage(batch, [batch.key.buffer as ArrayBuffer, batch.rec]);
    return true;
  }

  async close(): Promise<void> {
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.config.closeTimeoutMs ?? 3000);
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.config.port.postMessage(null);
  }
}

/** A batch of the final flush (its last flow ended with reason shutdown). */
function isShutdownFlush(b: EndedBatch): boolean {
  return b.count > 0 && FlowColumns.wrap(b.key, b.rec).endReason(b.count - 1) === EndReason.shutdown;
}
