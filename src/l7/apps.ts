/**
 * Application protocol names (the `app` field) and the well-known-port fallback table.
 *
 * Names are lower case and follow the list; where nDPI has another spelling the accepted
 * alias is noted (compare-l7.mjs accepts both). Index 0 = none (null). Ids are stable within a
 * process only (never stored): records carry the name.
 */
export const APP_NAMES = [
  "", "tls", "quic", "dns", "http", "ssh", "ntp", "dhcp", "dhcpv6", "mdns", "ssdp", "netbios", "smb",
  "stun", "rdp", "snmp", "syslog", "ftp", "smtp", "imap", "pop3", "sip", "rtp", "bittorrent", "openvpn",
  "wireguard", "ipsec", "kerberos", "radius", "telnet", "mysql", "postgresql", "redis", "mongodb", "ldap",
  "llmnr", "dtls", "rtcp", "rtsp", "vnc", "mqtt", "amqp", "tftp", "socks", "irc", "xmpp", "nats", "pptp",
  "ms_sql", "memcached", "rsync", "ntlm_http", "git", "whois", "bgp", "ldp", "cassandra", "coap",
] as const;
export type AppName = (typeof APP_NAMES)[number];

export const APP: Record<Exclude<AppName, "">, number> = Object.create(null);
APP_NAMES.forEach((n, i) => { if (n !== "") (APP as Record<string, number>)[n] = i; });

export function appName(id: number): string | null {
  return id > 0 && id < APP_NAMES.length ? APP_NAMES[id]! : null;
}

const APP_IDS = new Map<string, number>(APP_NAMES.map((n, i) => [n, i]));

/** The id of an application name (its index in APP_NAMES); 0 for null and for a name not in the list. */
export function appIdOf(name: string | null): number {
  return name === null ? 0 : APP_IDS.get(name) ?? 0;
}

/** How `app` was decided. */
export type AppSource = "payload" | "port";

/** Well-known server ports (IANA) used only as the labelled fallback (`app_source: "port"`). */
const TCP_PORTS: Record<number, number> = {
  20: APP.ftp, 21: APP.ftp, 22: APP.ssh, 23: APP.telnet, 25: APP.smtp, 43: APP.whois, 53: APP.dns, 80: APP.http,
  88: APP.kerberos, 110: APP.pop3, 139: APP.netbios, 143: APP.imap, 179: APP.bgp, 389: APP.ldap, 443: APP.tls,
  445: APP.smb, 465: APP.smtp, 554: APP.rtsp, 587: APP.smtp, 636: APP.ldap, 853: APP.tls, 873: APP.rsync,
  993: APP.imap, 995: APP.pop3, 1080: APP.socks, 1194: APP.openvpn, 1433: APP.ms_sql, 1723: APP.pptp,
  1883: APP.mqtt, 3128: APP.http, 3268: APP.ldap, 3306: APP.mysql, 3389: APP.rdp, 3478: APP.stun,
  4222: APP.nats, 5060: APP.sip, 5061: APP.sip, 5222: APP.xmpp, 5432: APP.postgresql, 5672: APP.amqp,
  5900: APP.vnc, 6379: APP.redis, 6667: APP.irc, 8080: APP.http, 8443: APP.tls, 9042: APP.cassandra,
  9418: APP.git, 11211: APP.memcached, 27017: APP.mongodb,
};
const UDP_PORTS: Record<number, number> = {
  53: APP.dns, 67: APP.dhcp, 68: APP.dhcp, 69: APP.tftp, 88: APP.kerberos, 123: APP.ntp, 137: APP.netbios,
  138: APP.netbios, 161: APP.snmp, 162: APP.snmp, 389: APP.ldap, 443: APP.quic, 500: APP.ipsec, 514: APP.syslog,
  546: APP.dhcpv6, 547: APP.dhcpv6, 1194: APP.openvpn, 1645: APP.radius, 1646: APP.radius, 1812: APP.radius,
  1813: APP.radius, 1900: APP.ssdp, 3478: APP.stun, 4500: APP.ipsec, 5060: APP.sip, 5353: APP.mdns,
  5355: APP.llmnr, 5683: APP.coap, 6881: APP.bittorrent, 11211: APP.memcached, 51820: APP.wireguard,
};

// Dense tables by port (64 KiB each): one byte load per lookup, no property lookup on a sparse object
// (the port guess runs for every flow that ends without a payload decision: every flow of a scan).
const byPort = (t: Record<number, number>): Uint8Array => {
  const a = new Uint8Array(65536);
  for (const [port, id] of Object.entries(t)) a[Number(port)] = id;
  return a;
};
const TCP_BY_PORT = byPort(TCP_PORTS);
const UDP_BY_PORT = byPort(UDP_PORTS);

/**
 * The port fallback: the responder's port first (it is the server), then the initiator's.
 * 0 when neither is a listed port. Ports are 0-65535.
 */
export function appByPort(proto: number, respPort: number, initPort: number): number {
  const t = proto === 6 ? TCP_BY_PORT : proto === 17 ? UDP_BY_PORT : null;
  if (t === null) return 0;
  return t[respPort & 0xffff]! || t[initPort & 0xffff]!;
}
