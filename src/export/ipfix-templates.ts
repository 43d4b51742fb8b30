/**
 * The IPFIX templates Flowmatrix exports (RFC 7011 §3.4.1), one per address family, each a
 * bidirectional flow record (RFC 5103): the forward direction is the initiator's (our `src`), the
 * reverse elements carry the responder's counters under the reverse PEN 29305.
 *
 * Elements (IANA IPFIX registry, RFC 7012; "R" = reverse, PEN 29305, same element id):
 *   sourceIPv4Address 8 / sourceIPv6Address 27              initiator address
 *   destinationIPv4Address 12 / destinationIPv6Address 28   responder address
 *   sourceTransportPort 7, destinationTransportPort 11      ports (ICMP echo: the echo id, as ours)
 *   protocolIdentifier 4
 *   vlanId 58                                               outermost VLAN id; 0 when untagged
 *   flowStartMilliseconds 152, flowEndMilliseconds 153      first / last packet (ms since the epoch)
 *   octetDeltaCount 1, R octetDeltaCount                    bytes per direction (see below)
 *   packetDeltaCount 2, R packetDeltaCount                  packets per direction
 *   R tcpControlBits, tcpControlBits 6                      TCP flags OR-ed per direction (0 for non-TCP)
 *   flowEndReason 136                                       1 idle, 2 active timeout, 3 end of flow
 *                                                           (TCP close), 4 forced end (end of capture,
 *                                                           shutdown), 5 lack of resources (evicted)
 *   biflowDirection 239                                     1 = initiator (source is the initiator)
 *   Community ID: enterprise element COMMUNITY_ID_IE under COMMUNITY_ID_PEN, string, variable length
 *   applicationName 96 (RFC 6759; standard)                 `app` (tls, quic, dns, …); empty when unknown
 *   serverName: enterprise element SERVER_NAME_IE under COMMUNITY_ID_PEN, string, variable length:
 *                                                           `server_name` (TLS/QUIC SNI, HTTP Host,
 *                                                           DNS query name); empty when none
 *
 * Bytes: our `bytes` are wire bytes (capture record length, link header included; README "What
 * flow and bytes mean"); they are exported as octetDeltaCount, which RFC 7012 defines as IP header
 * plus payload — so each packet counts its link header too (14 bytes on untagged Ethernet). This is
 * deliberate: collectors then show the same bytes as `flows --read`, the API and the dashboard; the
 * table keeps no IP-only byte count to export instead.
 *
 * Community ID: IANA has no element for it. It goes as an enterprise-specific element (RFC 7011
 * §3.2): element id 1, string, under PEN 32473 — the number RFC 5612 reserves for documentation and
 * examples, used until Flowmatrix has a registered PEN. Collectors that do not know it skip it by
 * its length (nfdump does); a collector that wants it maps (32473, 1) to a string.
 *
 * Application and server name: the application is the standard applicationName (96, RFC 6759: a
 * string, the name as our `app` field gives it — we do not send applicationId, whose classification
 * engines are registered elsewhere). IANA has no element for a TLS/QUIC SNI or a DNS query name
 * (httpRequestHost 460 covers HTTP only), so the server name is an enterprise element: id 2, string,
 * under the same PEN 32473 as the Community ID.
 */

export const IPFIX_VERSION = 10;
export const SET_TEMPLATE = 2;
export const TEMPLATE_V4 = 256;
export const TEMPLATE_V6 = 257;
/** RFC 5103 reverse information elements. */
export const REVERSE_PEN = 29305;
/** Enterprise element of the Community ID (see the header). */
export const COMMUNITY_ID_PEN = 32473;
export const COMMUNITY_ID_IE = 1;
/** Enterprise element of the server name (see the header); applicationName is IANA 96. */
export const SERVER_NAME_IE = 2;
export const APPLICATION_NAME_IE = 96;
export const VARLEN = 0xffff;

export interface FieldSpec {
  id: number;
  length: number;
  pen?: number;
  name: string;
}

const common = (): FieldSpec[] => [
  { id: 7, length: 2, name: "sourceTransportPort" },
  { id: 11, length: 2, name: "destinationTransportPort" },
  { id: 4, length: 1, name: "protocolIdentifier" },
  { id: 58, length: 2, name: "vlanId" },
  { id: 152, length: 8, name: "flowStartMilliseconds" },
  { id: 153, length: 8, name: "flowEndMilliseconds" },
  { id: 1, length: 8, name: "octetDeltaCount" },
  { id: 2, length: 8, name: "packetDeltaCount" },
  { id: 1, length: 8, pen: REVERSE_PEN, name: "reverseOctetDeltaCount" },
  { id: 2, length: 8, pen: REVERSE_PEN, name: "reversePacketDeltaCount" },
  // Reverse before forward: nfdump 1.7 maps only reverse octets/packets and reads any other reverse
  // element as its forward one, the last in the record winning — so this order leaves nfdump with
  // the initiator's flags instead of the responder's.
  { id: 6, length: 2, pen: REVERSE_PEN, name: "reverseTcpControlBits" },
  { id: 6, length: 2, name: "tcpControlBits" },
  { id: 136, length: 1, name: "flowEndReason" },
  { id: 239, length: 1, name: "biflowDirection" },
  { id: COMMUNITY_ID_IE, length: VARLEN, pen: COMMUNITY_ID_PEN, name: "communityId" },
  { id: APPLICATION_NAME_IE, length: VARLEN, name: "applicationName" },
  { id: SERVER_NAME_IE, length: VARLEN, pen: COMMUNITY_ID_PEN, name: "serverName" },
];

export const FIELDS_V4: FieldSpec[] = [
  { id: 8, length: 4, name: "sourceIPv4Address" },
  { id: 12, length: 4, name: "destinationIPv4Address" },
  ...common(),
];
export const FIELDS_V6: FieldSpec[] = [
  { id: 27, length: 16, name: "sourceIPv6Address" },
  { id: 28, length: 16, name: "destinationIPv6Address" },
  ...common(),
];

/** Fixed part of a data record (every field but the variable-length Community ID, application and server name). */
export const FIXED_V4 = FIELDS_V4.reduce((n, f) => n + (f.length === VARLEN ? 0 : f.length), 0);
export const FIXED_V6 = FIELDS_V6.reduce((n, f) => n + (f.length === VARLEN ? 0 : f.length), 0);

/** flowEndReason (IANA) for our EndReason codes (columns.ts): index = our code. */
export const END_REASON_IPFIX = [0, 1, 2, 3, 5, 4, 4];

/** One template record: template id, field count, then the field specifiers. */
function templateRecord(id: number, fields: FieldSpec[]): Uint8Array {
  const len = 4 + fields.reduce((n, f) => n + (f.pen === undefined ? 4 : 8), 0);
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint16(0, id);
  v.setUint16(2, fields.length);
  let p = 4;
  for (const f of fields) {
    v.setUint16(p, f.pen === undefined ? f.id : f.id | 0x8000);
    v.setUint16(p + 2, f.length);
    p += 4;
    if (f.pen !== undefined) {
      v.setUint32(p, f.pen);
      p += 4;
    }
  }
  return b;
}

/** The Template Set (set id 2) holding both templates. */
export function templateSet(): Uint8Array {
  const r4 = templateRecord(TEMPLATE_V4, FIELDS_V4);
  const r6 = templateRecord(TEMPLATE_V6, FIELDS_V6);
  const b = new Uint8Array(4 + r4.length + r6.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, SET_TEMPLATE);
  v.setUint16(2, b.length);
  b.set(r4, 4);
  b.set(r6, 4 + r4.length);
  return b;
}
