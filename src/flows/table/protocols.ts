/** IP protocol numbers ↔ names used in records and in the query grammar. */
const NAMES: Record<number, string> = {
  1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp",
  51: "ah", 58: "icmpv6", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp", 136: "udplite",
  33: "dccp", 115: "l2tp",
};
const NUMBERS = new Map(Object.entries(NAMES).map(([n, s]) => [s, Number(n)]));

/** Name for a protocol number, or the number as a string when it has no name here. */
export function protoName(n: number): string {
  return NAMES[n] ?? String(n);
}

/** Number for a name or a decimal string (0-255); undefined when neither. */
export function protoNumber(s: string): number | undefined {
  const lower = s.toLowerCase();
  const named = NUMBERS.get(lower);
  if (named !== undefined) return named;
  if (/^\d{1,3}$/.test(lower) && Number(lower) <= 255) return Number(lower);
  return undefined;
}

export const PROTOCOL_NAMES = Object.values(NAMES);
