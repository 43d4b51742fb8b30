/**
 * An ended-flow sink that posts batches through a MessagePort (to a consumer in another Worker,
 * such as the history store), transferring the buffers (no copy). The consumer acknowledges each
 * batch with any message on the port; at most `maxBatches` may be unacknowledged, beyond that
 * offers are refused (the batcher drops and counts them). close() waits for the acknowledgements
 * still due, at most `closeTimeoutMs`.
 */
import type { EndedBatch, EndedFlowSink } from "../flows/sinks.ts";

export interface PortSinkConfig {
  name: string;
  port: MessagePort;
  maxBatches?: number;
  closeTimeoutMs?: number;
}

export class PortSink implements EndedFlowSink {
  readonly name: string;
  private inFlight = 0;
  private drained: (() => void) | null = null;

  constructor(private readonly config: PortSinkConfig) {
    this.name = config.name;
    config.port.onmessage = () => {
      this.inFlight = Math.max(0, this.inFlight - 1);
      if (this.inFlight === 0) this.drained?.();
    };
  }

  offer(batch: EndedBatch): boolean {
    if (this.inFlight >= (this.config.maxBatches ?? 8)) return false;
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
  }
}
