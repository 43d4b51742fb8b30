/**
 * nDPI 4.2 through bun:ffi, for the measurement of issue 11 only (bench/l7-flows.ts, L7_ENGINE=ndpi):
 * the same per-packet hook as FlowInspector, but each undecided flow's IP packet is copied into a
 * batch buffer and handed to nDPI by the TinyCC shim (ndpi-shim.c) once per BATCH packets, so no
 * FFI call is made per packet. A flow is fed until nDPI decides and wants no more packets, or for
 * MAX_PACKETS packets, then given up (nDPI's own guess). Needs `libndpi4.2` and `libndpi-dev`
 * (headers: TinyCC compiles the shim against them at start).
 */
import { CString, cc, type Pointer } from "bun:ffi";
import { fileURLToPath } from "node:url";
import type { DecodedPacket } from "../../capture/packet.ts";
import type { FlowTable } from "../../flows/table/table.ts";
import { REC_U32, U_PKTS } from "../../flows/table/columns.ts";
import { findIpHeader } from "../locate.ts";

const BATCH = 512;
const BUF = BATCH * 1600;
const MAX_PACKETS = 32;

const lib = cc({
  source: fileURLToPath(new URL("./ndpi-shim.c", import.meta.url)),
  library: ["ndpi"],
  symbols: {
    fmn_init: { args: ["int"], returns: "int" },
    fmn_grow: { args: ["int"], returns: "int" },
    fmn_proto_name: { args: ["int"], returns: "ptr" },
    fmn_batch: { args: ["ptr", "ptr", "int", "ptr"], returns: "int" },
    fmn_giveup: { args: ["int"], returns: "u32" },
    fmn_host: { args: ["int"], returns: "ptr" },
    fmn_free: { args: ["int"], returns: "void" },
    fmn_flow_size: { args: [], returns: "int" },
  },
});
const S = lib.symbols;

export class NdpiInspector {
  private cap: number;
  private st = new Uint8Array(0); // 0 new, 1 feeding, 2 done
  private cnt = new Uint8Array(0);
  private res = new Uint32Array(0);
  private names: (string | undefined)[] = [];
  private readonly buf = new Uint8Array(BUF);
  private readonly desc = new Uint32Array(BATCH * 4);
  private readonly out = new Uint32Array(BATCH);
  private n = 0;
  private used = 0;
  private t0 = -1;
  private readonly protoNames: string[] = [];
  readonly flowStructBytes: number;
  batches = 0;
  fed = 0;

  constructor(private readonly table: FlowTable) {
    this.cap = table.cols.capacity;
    const np = S.fmn_init(this.cap);
    if (np < 0) throw new Error(`nDPI init failed (${np})`);
    for (let i = 0; i < np + 16; i++) {
      const p = S.fmn_proto_name(i);
      this.protoNames.push(p ? new CString(p as Pointer).toString() : "");
    }
    this.flowStructBytes = S.fmn_flow_size();
    this.alloc(this.cap);
  }

  private alloc(c: number): void {
    const st = new Uint8Array(c); st.set(this.st); this.st = st;
    const cnt = new Uint8Array(c); cnt.set(this.cnt); this.cnt = cnt;
    const res = new Uint32Array(c); res.set(this.res); this.res = res;
    S.fmn_grow(c);
    this.cap = c;
  }

  onPacket(slot: number, p: DecodedPacket, buf: Uint8Array, off: number, caplen: number, ts: number): void {
    if (slot >= this.cap) { this.flush(); this.alloc(Math.max(slot + 1, this.cap * 2)); }
    const u = this.table.cols.u32;
    const o = slot * REC_U32 + U_PKTS;
    if (u[o]! + u[o + 1]! === 1) {
      if (this.st[slot] !== 0) { this.flush(); S.fmn_free(slot); }
      this.st[slot] = 0; this.cnt[slot] = 0; this.res[slot] = 0; this.names[slot] = undefined;
    } else if (this.st[slot] === 2) return;
    const q = findIpHeader(buf, off, caplen, p);
    if (q < 0) return;
    let len = Math.min(off + caplen, buf.length) - q;
    if (p.ipLen > 0 && p.ipLen < len) len = p.ipLen;
    if (len <= 0 || len > 1600) len = Math.min(len, 1600);
    if (this.used + len > BUF || this.n === BATCH) this.flush();
    if (this.t0 < 0) this.t0 = ts;
    this.buf.set(buf.subarray(q, q + len), this.used);
    const d = this.n * 4;
    this.desc[d] = slot; this.desc[d + 1] = this.used; this.desc[d + 2] = len; this.desc[d + 3] = Math.round((ts - this.t0) * 1000) >>> 0;
    this.used += (len + 7) & ~7;
    this.n++;
    this.st[slot] = 1;
    if (++this.cnt[slot]! >= MAX_PACKETS) this.st[slot] = 2; // its last packet is queued; given up at flush
  }

  /** Hand the queued packets to nDPI (one FFI call). */
  flush(): void {
    if (this.n === 0) return;
    S.fmn_batch(this.buf, this.desc, this.n, this.out);
    this.batches++;
    this.fed += this.n;
    for (let i = 0; i < this.n; i++) {
      const slot = this.desc[i * 4]!;
      const r = this.out[i]!;
      if (r !== 0) this.res[slot] = r & 0x7fffffff;
      if (r !== 0 && (r & 0x80000000) === 0) this.done(slot);
      else if (this.cnt[slot]! >= MAX_PACKETS && (this.res[slot] === 0 || this.st[slot] === 2)) this.done(slot, true);
    }
    this.n = 0;
    this.used = 0;
  }

  private done(slot: number, giveup = false): void {
    if (this.st[slot] === 3) return;
    if (giveup && this.res[slot] === 0) this.res[slot] = S.fmn_giveup(slot) & 0x3fffffff;
    const h = S.fmn_host(slot);
    const name = h ? new CString(h as Pointer).toString() : "";
    if (name !== "") this.names[slot] = name;
    S.fmn_free(slot);
    this.st[slot] = 2;
  }

  /** An ended flow: give it up if nDPI had not decided (call from an onEnded listener registered first). */
  beforeEnd(slot: number): void {
    if (slot >= this.cap) return;
    this.flush();
    if (this.st[slot] === 1) this.done(slot, true);
  }

  flushAll(): void {
    this.flush();
  }

  private name(id: number): string | null {
    const n = this.protoNames[id];
    return n ? n.toLowerCase() : null;
  }

  result(slot: number): { app: string | null; app_source: "payload" | null; server_name: string | null } {
    const r = this.res[slot] ?? 0;
    const master = (r >>> 16) & 0x3fff, app = r & 0xffff;
    const id = master !== 0 ? master : app;
    return { app: id === 0 ? null : this.name(id), app_source: id === 0 ? null : "payload", server_name: this.names[slot] ?? null };
  }

  stats(): Record<string, number> {
    return { batches: this.batches, fed_packets: this.fed, ndpi_flow_struct_bytes: this.flowStructBytes };
  }
}
