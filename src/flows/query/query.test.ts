import { describe, expect, test } from "bun:test";
import {
  andQueries, hostQuery, MATCH_ALL, paramsToQuery, parseQuery, QUERY_PARAM_NAMES, queryToString, type QueryNode,
} from "./query.ts";
import { QueryError } from "./query-error.ts";

function err(run: () => unknown): QueryError {
  try {
    run();
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  throw new Error("expected a QueryError");
}

describe("parseQuery: structure", () => {
  test("empty and blank = match all", () => {
    expect(parseQuery("")).toEqual(MATCH_ALL);
    expect(parseQuery("   \t ")).toEqual(MATCH_ALL);
  });

  test("whitespace is AND, OR binds looser, parentheses group", () => {
    const q = parseQuery("src_ip:192.168.1.0/24 protocol:tcp OR port:53");
    expect(q).toEqual({
      kind: "or",
      items: [
        { kind: "and", items: [
          { kind: "ip", field: "src_ip", version: 4, addr: "192.168.1.0", prefix: 24 },
          { kind: "proto", proto: 6 },
        ] },
        { kind: "port", field: "port", lo: 53, hi: 53 },
      ],
    });
    const g = parseQuery("src_ip:192.168.1.0/24 (protocol:tcp or port:53)");
    expect(g.kind).toBe("and");
    expect(g.kind === "and" && g.items[1]!.kind).toBe("or");
  });

  test("explicit AND, nested groups flatten into one AND/OR", () => {
    expect(parseQuery("proto:tcp AND (port:80 port:443)")).toEqual(parseQuery("proto:tcp port:80 port:443"));
    expect(parseQuery("(port:1 OR port:2) OR port:3")).toEqual(parseQuery("port:1 OR port:2 OR port:3"));
  });

  test("negation forms", () => {
    const leaf = { kind: "proto", proto: 17 };
    for (const t of ["-protocol:udp", "!protocol:udp", "not protocol:udp", "NOT protocol:udp", "NOT(protocol:udp)"]) {
      expect(parseQuery(t)).toEqual({ kind: "not", item: leaf } as QueryNode);
    }
    expect(parseQuery("NOT (port:1 port:2)")).toEqual({
      kind: "not",
      item: { kind: "and", items: [
        { kind: "port", field: "port", lo: 1, hi: 1 },
        { kind: "port", field: "port", lo: 2, hi: 2 },
      ] },
    });
    expect(parseQuery("--port:1")).toEqual({ kind: "not", item: { kind: "not", item: { kind: "port", field: "port", lo: 1, hi: 1 } } });
  });

  test("field values", () => {
    expect(parseQuery("ip:10.1.2.3/8")).toEqual({ kind: "ip", field: "ip", version: 4, addr: "10.0.0.0", prefix: 8 });
    expect(parseQuery("dst_ip:2001:DB8:0:0::1")).toEqual({ kind: "ip", field: "dst_ip", version: 6, addr: "2001:db8::1", prefix: 128 });
    expect(parseQuery("ip:2001:db8:aaaa:bbbb:1::/64")).toEqual({ kind: "ip", field: "ip", version: 6, addr: "2001:db8:aaaa:bbbb::", prefix: 64 });
    expect(parseQuery("src_port:1000-2000")).toEqual({ kind: "port", field: "src_port", lo: 1000, hi: 2000 });
    expect(parseQuery("dst_port>1023")).toEqual({ kind: "port", field: "dst_port", lo: 1024, hi: 65535 });
    expect(parseQuery("port:<=1023")).toEqual({ kind: "port", field: "port", lo: 0, hi: 1023 });
    expect(parseQuery("proto:47")).toEqual({ kind: "proto", proto: 47 });
    expect(parseQuery("protocol:ICMPv6")).toEqual({ kind: "proto", proto: 58 });
    expect(parseQuery("vlan:none")).toEqual({ kind: "vlan", vlan: null });
    expect(parseQuery("vlan:100")).toEqual({ kind: "vlan", vlan: 100 });
    expect(parseQuery("state:established")).toEqual({ kind: "state", state: "established" });
    expect(parseQuery("ip_version:6")).toEqual({ kind: "ip_version", version: 6 });
    expect(parseQuery("ip_version:ipv4")).toEqual({ kind: "ip_version", version: 4 });
    expect(parseQuery("source:netflow")).toEqual({ kind: "source", source: "netflow" });
    expect(parseQuery("source:Capture")).toEqual({ kind: "source", source: "capture" });
    expect(parseQuery("exporter:192.0.2.1")).toEqual({ kind: "exporter", version: 4, addr: "192.0.2.1", prefix: 32 });
    expect(parseQuery("exporter:2001:db8::7/48")).toEqual({ kind: "exporter", version: 6, addr: "2001:db8::", prefix: 48 });
    expect(parseQuery("-exporter:10.0.0.0/8")).toEqual({ kind: "not", item: { kind: "exporter", version: 4, addr: "10.0.0.0", prefix: 8 } });
  });

  test("numeric comparisons, both spellings, with units", () => {
    expect(parseQuery("bytes>1M")).toEqual({ kind: "cmp", field: "bytes", op: ">", value: 1e6 });
    expect(parseQuery("bytes:>1M")).toEqual({ kind: "cmp", field: "bytes", op: ">", value: 1e6 });
    expect(parseQuery("bytes>=2KiB")).toEqual({ kind: "cmp", field: "bytes", op: ">=", value: 2048 });
    expect(parseQuery("packets<10")).toEqual({ kind: "cmp", field: "packets", op: "<", value: 10 });
    expect(parseQuery("packets:1k")).toEqual({ kind: "cmp", field: "packets", op: "=", value: 1000 });
    expect(parseQuery("duration>10s")).toEqual({ kind: "cmp", field: "duration", op: ">", value: 10_000 });
    expect(parseQuery("duration<=2m")).toEqual({ kind: "cmp", field: "duration", op: "<=", value: 120_000 });
    expect(parseQuery("duration>5")).toEqual({ kind: "cmp", field: "duration", op: ">", value: 5000 });
    expect(parseQuery("duration<500ms")).toEqual({ kind: "cmp", field: "duration", op: "<", value: 500 });
    expect(parseQuery("bps>1.5G")).toEqual({ kind: "cmp", field: "bps", op: ">", value: 1.5e9 });
    expect(parseQuery("bps:<500k")).toEqual({ kind: "cmp", field: "bps", op: "<", value: 5e5 });
  });

  test("quoted values and case-insensitive field names", () => {
    expect(parseQuery('src_ip:"10.0.0.0/8"')).toEqual(parseQuery("src_ip:10.0.0.0/8"));
    expect(parseQuery('(state:"closed")')).toEqual({ kind: "state", state: "closed" });
    expect(parseQuery("SRC_IP:10.0.0.1 Protocol:TCP")).toEqual(parseQuery("src_ip:10.0.0.1 protocol:tcp"));
  });
});

describe("parseQuery: errors carry position and field", () => {
  const cases: [string, number, string, RegExp][] = [
    ["src_ip:10.0.0.1 srcip:1.2.3.4", 16, "q", /^at 16: unknown field "srcip" \(did you mean "src_ip"\? expected one of ip, src_ip, /],
    ["src_ip:300.1.1.1", 7, "src_ip", /^at 7: "300\.1\.1\.1" is not an IPv4\/IPv6 address or CIDR$/],
    ["src_ip:10.0.0.0/33", 16, "src_ip", /prefix length \/33 is out of range for IPv4 \(0-32\)/],
    ["ip:2001:db8::/129", 14, "ip", /out of range for IPv6 \(0-128\)/],
    ["(proto:tcp port:80", 18, "q", /^at 18: expected "\)" to close "\(" at 0$/],
    ["proto:tcp)", 9, "q", /unexpected "\)"/],
    ["port:70000", 5, "port", /"70000" is not a port/],
    ["port:2000-1000", 5, "port", /empty/],
    ["protocol:foo", 9, "protocol", /unknown protocol "foo"/],
    ["vlan:5000", 5, "vlan", /not a VLAN id/],
    ["source:router", 7, "source", /unknown source "router" \(expected capture or netflow\)/],
    ["exporter:router1", 9, "exporter", /"router1" is not an IPv4\/IPv6 address or CIDR/],
    ["state:open", 6, "state", /unknown state "open" \(expected one of attempted, /],
    ["bytes>lots", 6, "bytes", /"lots" is not a number/],
    ["duration>10x", 9, "duration", /not a duration/],
    ["src_ip>10.0.0.1", 6, "src_ip", /takes src_ip:value, not a comparison/],
    ["tcp", 0, "q", /expected field:value \(e\.g\. protocol:tcp\), got "tcp"/],
    ["port:", 5, "port", /expected a value after "port:"/],
    ["port:80 OR", 10, "q", /expected a field:value term, got the end of the query/],
    ["OR port:80", 0, "q", /expected a field:value term/],
    ["()", 1, "q", /empty parentheses/],
    ["- port:80", 1, "q", /expected a term right after "-"/],
    ["NOT", 3, "q", /expected a term after NOT/],
    ['state:"closed', 6, "state", /unterminated quoted value/],
    ["ip_version:5", 11, "ip_version", /not an IP version/],
    ["proto tcp", 5, "proto", /expected ":" after "proto"/],
    ["port:80 AND", 11, "q", /expected a term after AND/],
  ];
  for (const [text, position, field, message] of cases) {
    test(JSON.stringify(text), () => {
      const e = err(() => parseQuery(text));
      expect(e.position).toBe(position);
      expect(e.field).toBe(field);
      expect(e.message).toMatch(message);
      expect(e.message.startsWith(`at ${position}: `)).toBe(true);
    });
  }
});

describe("queryToString round-trips", () => {
  const texts = [
    "src_ip:192.168.1.0/24 protocol:tcp",
    "src_ip:192.168.1.0/24 (protocol:tcp OR port:53) -vlan:none",
    "ip:2001:db8::/32 OR dst_ip:::1 OR ip:::/0 OR ip:0.0.0.0/0",
    "NOT (port:1 port:2) !state:reset not proto:47",
    "--port:1000-2000 src_port>1023 dst_port<1024",
    "bytes:>1M bytes>=2KiB packets<10 packets:1500 duration>10s duration<=90s duration>0.25 bps<500k bps>1.5G",
    "vlan:100 ip_version:6 state:established proto:icmpv6",
    "source:netflow exporter:192.0.2.0/24 OR -source:capture !exporter:2001:db8::1",
    '(ip:"10.0.0.1" OR (ip:10.0.0.2 (port:1 OR port:2)))',
  ];
  for (const t of texts) {
    test(t, () => {
      const ast = parseQuery(t);
      const canon = queryToString(ast);
      expect(parseQuery(canon)).toEqual(ast);
      expect(queryToString(parseQuery(canon))).toBe(canon);
    });
  }
  test("canonical text examples", () => {
    expect(queryToString(parseQuery("PROTO:6  SRC_IP:\"10.1.0.0/16\" bytes:>1000000"))).toBe("protocol:tcp src_ip:10.1.0.0/16 bytes>1M");
    expect(queryToString(parseQuery("duration:1"))).toBe("duration:1s");
    expect(queryToString(parseQuery("ip:10.0.0.1/32 port:80-80"))).toBe("ip:10.0.0.1 port:80");
    expect(queryToString(parseQuery("port:1 (port:2 OR port:3) -(port:4 port:5)"))).toBe("port:1 (port:2 OR port:3) -(port:4 port:5)");
    expect(queryToString(MATCH_ALL)).toBe("");
  });
});

describe("paramsToQuery", () => {
  test("plain parameters become an AND; min/max are inclusive bounds", () => {
    const q = paramsToQuery({
      src_ip: "192.168.1.0/24", protocol: "tcp", min_bytes: "1M", max_duration: "2m", bogus: "x", q: "port:1",
    });
    expect(q).toEqual({ kind: "and", items: [
      { kind: "ip", field: "src_ip", version: 4, addr: "192.168.1.0", prefix: 24 },
      { kind: "proto", proto: 6 },
      { kind: "cmp", field: "bytes", op: ">=", value: 1e6 },
      { kind: "cmp", field: "duration", op: "<=", value: 120_000 },
    ] });
    expect(paramsToQuery({ port: "1000-2000" })).toEqual({ kind: "port", field: "port", lo: 1000, hi: 2000 });
    expect(paramsToQuery({ vlan: "none", max_bps: "500k" })).toEqual(parseQuery("vlan:none bps<=500k"));
  });
  test("empty values and no params = match all", () => {
    expect(paramsToQuery({})).toEqual(MATCH_ALL);
    expect(paramsToQuery({ src_ip: "", state: "  ", port: undefined })).toEqual(MATCH_ALL);
  });
  test("errors name the parameter", () => {
    const e = err(() => paramsToQuery({ protocol: "tcp", min_packets: "many" }));
    expect(e.field).toBe("min_packets");
    expect(e.position).toBe(0);
    expect(e.message).toMatch(/^min_packets: "many" is not a number/);
    const p = err(() => paramsToQuery({ src_port: "10-99999" }));
    expect(p.field).toBe("src_port");
    expect(p.position).toBe(3);
  });
  test("param names list", () => {
    expect(QUERY_PARAM_NAMES).toContain("min_bps");
    expect(QUERY_PARAM_NAMES).toContain("src_ip");
    expect(QUERY_PARAM_NAMES as readonly string[]).not.toContain("q");
  });
});

describe("andQueries and hostQuery", () => {
  test("andQueries drops match-all and flattens", () => {
    const a = parseQuery("port:1");
    expect(andQueries(MATCH_ALL, a)).toBe(a);
    expect(andQueries(a, MATCH_ALL)).toBe(a);
    expect(andQueries(parseQuery("port:1 port:2"), parseQuery("port:3"))).toEqual(parseQuery("port:1 port:2 port:3"));
    expect(queryToString(andQueries(parseQuery("port:1 OR port:2"), parseQuery("port:3")))).toBe("(port:1 OR port:2) port:3");
  });
  test("hostQuery", () => {
    expect(hostQuery("10.0.0.1")).toEqual(parseQuery("ip:10.0.0.1"));
    expect(hostQuery("2001:db8::1")).toEqual({ kind: "ip", field: "ip", version: 6, addr: "2001:db8::1", prefix: 128 });
    const e = err(() => hostQuery("nope"));
    expect(e.field).toBe("ip");
  });
});

test("app, name, country, asn, community_id: parsed, validated, negated, printed back", () => {
  expect(parseQuery("app:TLS")).toEqual({ kind: "app", app: "tls" });
  expect(parseQuery("-name:*.Example.com")).toEqual({ kind: "not", item: { kind: "name", glob: "*.example.com" } });
  expect(parseQuery("country:de")).toEqual({ kind: "country", country: "DE" });
  expect(parseQuery("country:Private")).toEqual({ kind: "country", country: "private" });
  expect(parseQuery("asn:AS15169")).toEqual({ kind: "asn", asn: 15169 });
  expect(parseQuery("community_id:1:LQU9qZlK+B5F3KDmev6m5PMibrg=")).toEqual({ kind: "community_id", id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" });
  for (const bad of ["app:nosuchapp", "country:DEU", "country:moon", "asn:x1", "asn:4294967296", "community_id:2:abc", "community_id:1:short="]) {
    expect(() => parseQuery(bad)).toThrow(QueryError);
  }
  for (const q of ["app:tls", "-app:dns", "name:*.example.com", 'name:"a b"', "country:DE", "-country:private", "asn:15169",
    "community_id:1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "app:tls OR (country:US -asn:15169)"]) {
    const ast = parseQuery(q);
    expect(parseQuery(queryToString(ast))).toEqual(ast);
  }
  expect(paramsToQuery({ app: "tls", country: "DE", asn: "15169", name: "*.example.com", source: "netflow", exporter: "10.0.0.0/8" })).toEqual({
    kind: "and",
    items: [
      { kind: "app", app: "tls" }, { kind: "name", glob: "*.example.com" }, { kind: "country", country: "DE" }, { kind: "asn", asn: 15169 },
      { kind: "source", source: "netflow" }, { kind: "exporter", version: 4, addr: "10.0.0.0", prefix: 8 },
    ],
  });
});
