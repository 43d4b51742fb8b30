/**
 * Flow state, derived from the TCP flags seen per direction (modelled on Zeek's conn_state,
 * with readable names). Only OR-ed flags are kept per direction, so the order of events is
 * approximated: a RST after an established handshake is "reset", a RST answering a bare SYN
 * is "rejected".
 *
 * TCP: attempted (SYN, no answer), rejected (SYN answered by RST), established (handshake both
 * ways), closing (FIN from one side), closed (FIN from both sides), reset (RST after the
 * handshake), midstream (no SYN from the initiator: started before the capture).
 * Other protocols: oneway (only the initiator sent), bidirectional.
 */
import type { FlowColumns } from "./columns.ts";

export const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16, URG = 32, ECE = 64, CWR = 128;

export const STATES = [
  "attempted",
  "rejected",
  "established",
  "closing",
  "closed",
  "reset",
  "midstream",
  "oneway",
  "bidirectional",
] as const;
export type FlowState = (typeof STATES)[number];

export function tcpState(init: number, resp: number): FlowState {
  const anyRst = (init | resp) & RST;
  if (!(init & SYN)) {
    if (resp & SYN) {
      // Capture began with the SYN-ACK: the table already made the receiver the initiator.
      return anyRst ? "reset" : (init & resp & FIN) ? "closed" : (init | resp) & FIN ? "closing" : "established";
    }
    return anyRst ? "reset" : (init & resp & FIN) ? "closed" : "midstream";
  }
  if (!(resp & SYN)) {
    if (resp & RST) return "rejected";
    if (resp === 0) return "attempted";
    return anyRst ? "reset" : "attempted";
  }
  if (anyRst) return "reset";
  if (init & resp & FIN) return "closed";
  if ((init | resp) & FIN) return "closing";
  return "established";
}

export function flowState(c: FlowColumns, i: number): FlowState {
  if (c.proto(i) === 6) return tcpState(c.dirFlags(i, 0), c.dirFlags(i, 1));
  return c.dirPackets(i, 1) > 0 ? "bidirectional" : "oneway";
}

/** TCP flags as letters in a fixed order: S A F P R U E C (only those seen). */
export function flagLetters(f: number): string {
  let s = "";
  if (f & SYN) s += "S";
  if (f & ACK) s += "A";
  if (f & FIN) s += "F";
  if (f & PSH) s += "P";
  if (f & RST) s += "R";
  if (f & URG) s += "U";
  if (f & ECE) s += "E";
  if (f & CWR) s += "C";
  return s;
}
