/**
 * Unit tests of the L7 dissectors (src/l7): TLS ClientHello/SNI (whole, split across segments,
 * truncated, hostile names), QUIC v1/v2 Initial decryption against the RFC 9001 Appendix A /
 * RFC 9369 Appendix A vectors, HTTP Host, DNS names and answers, and random input never throwing.
 */
import { describe, expect, test } from "bun:test";
import { createCipheriv } from "node:crypto";
import { dnsAnswers, DnsInfo, parseDns } from "../src/l7/dns.ts";
import { httpHost, httpKind } from "../src/l7/http.ts";
import { PassiveDns } from "../src/l7/passive-dns.ts";
import { clientInitialKeys, quicClientPacket, QUIC_DONE, QUIC_V1, QUIC_V2, type InitialKeys } from "../src/l7/quic.ts";
import { Hint, matchPayload } from "../src/l7/signatures.ts";
import { MAX_NAME } from "../src/l7/text.ts";
import { DONE, HelloInfo, NEED_MORE, NOT_TLS, parseClientHelloStream } from "../src/l7/tls.ts";

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** A TLS 1.3-style ClientHello record carrying `sni` (bytes) and `pad` bytes of padding extension. */
function clientHello(sni: Uint8Array | null, pad = 0): Uint8Array {
  const ext: number[] = [];
  if (sni) {
    const n = sni.length;
    ext.push(0, 0, (n + 5) >> 8, (n + 5) & 255, (n + 3) >> 8, (n + 3) & 255, 0, n >> 8, n & 255, ...sni);
  }
  if (pad) ext.push(0, 21, pad >> 8, pad & 255, ...new Array(pad).fill(0));
  const body = [3, 3, ...new Array(32).fill(7), 0, 0, 2, 0x13, 0x01, 1, 0, ext.length >> 8, ext.length & 255, ...ext];
  const hs = [1, body.length >> 16, (body.length >> 8) & 255, body.length & 255, ...body];
  return Uint8Array.from([22, 3, 1, hs.length >> 8, hs.length & 255, ...hs]);
}

describe("TLS ClientHello", () => {
  const h = new HelloInfo();
  test("SNI of a whole ClientHello, lower-cased", () => {
    const r = clientHello(ascii("WWW.Example.COM"));
    expect(parseClientHelloStream(r, 0, r.length, h)).toBe(DONE);
    expect(h.sni).toBe("www.example.com");
  });
  test("no SNI: still TLS, no name", () => {
    const r = clientHello(null);
    expect(parseClientHelloStream(r, 0, r.length, h)).toBe(DONE);
    expect(h.sni).toBeNull();
  });
  test("split across two segments: NEED_MORE on the first, the name once both are joined", () => {
    const r = clientHello(ascii("split.example.net"), 1500);
    const first = r.subarray(0, 700);
    expect(parseClientHelloStream(first, 0, first.length, h)).toBe(NEED_MORE);
    expect(h.need).toBeGreaterThanOrEqual(r.length);
    expect(parseClientHelloStream(r, 0, r.length, h)).toBe(DONE);
    expect(h.sni).toBe("split.example.net");
  });
  test("hostile names: HTML and control bytes replaced, 10 kB names bounded (tail kept)", () => {
    const r = clientHello(ascii("<script>alert(1)</script>\u0000\u0007.evil"));
    expect(parseClientHelloStream(r, 0, r.length, h)).toBe(DONE);
    expect(h.sni).toBe("<script>alert(1)</script>??.evil");
    expect(/[\x00-\x20\x7f-\uffff]/.test(h.sni!)).toBe(false);
    const long = ascii("a".repeat(10_000) + ".example.org");
    const r2 = clientHello(long);
    expect(parseClientHelloStream(r2, 0, r2.length, h)).toBe(DONE);
    expect(h.sni!.length).toBe(MAX_NAME);
    expect(h.sni!.endsWith(".example.org")).toBe(true);
  });
  test("truncated and garbage input never throws", () => {
    const r = clientHello(ascii("x.example"));
    for (let n = 0; n < r.length; n++) {
      const res = parseClientHelloStream(r, 0, n, h);
      expect([NOT_TLS, NEED_MORE]).toContain(res);
    }
    expect(parseClientHelloStream(ascii("GET / HTTP/1.1\r\n"), 0, 16, h)).toBe(NOT_TLS);
  });
});

// RFC 9001 Appendix A.2: the client Initial's unprotected header and CRYPTO frame (then PADDING to 1162 bytes).
const DCID = hex("8394c8f03e515708");
const A2_HEADER = hex("c300000001088394c8f03e5157080000449e00000002");
const A2_PAYLOAD = (() => {
  const p = new Uint8Array(1162);
  p.set(hex(`060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868
    04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578
    616d706c652e636f6dff01000100000a00080006001d00170018001000070005
    04616c706e000500050100000000003300260024001d00209370b2c9caa47fba
    baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400
    0d0010000e0403050306030203080408050806002d00020101001c0002400100
    3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000
    75300901100f088394c8f03e51570806048000ffff`));
  return p;
})();

/** Protects an Initial as a client would (RFC 9001 §5.3, §5.4): the reverse of what we parse. */
function protect(header: Uint8Array, payload: Uint8Array, keys: InitialKeys, pn: number, pnLen: number): Uint8Array {
  const nonce = Buffer.from(keys.iv);
  nonce[11]! ^= pn & 255;
  const gcm = createCipheriv("aes-128-gcm", keys.key, nonce);
  gcm.setAAD(header);
  const ct = Buffer.concat([gcm.update(payload), gcm.final(), gcm.getAuthTag()]);
  const out = new Uint8Array(header.length + ct.length);
  out.set(header);
  out.set(ct, header.length);
  const pnOff = header.length - pnLen;
  const ecb = createCipheriv("aes-128-ecb", keys.hp, null);
  const mask = ecb.update(out.subarray(pnOff + 4, pnOff + 20));
  out[0]! ^= mask[0]! & 0x0f;
  for (let i = 0; i < pnLen; i++) out[pnOff + i]! ^= mask[1 + i]!;
  return out;
}

describe("QUIC Initial", () => {
  test("v1 keys from the RFC 9001 A.1 DCID", () => {
    const k = clientInitialKeys(QUIC_V1, DCID)!;
    expect(k.key.toString("hex")).toBe("1f369613dd76d5467730efcbe3b1a22d");
    expect(k.iv.toString("hex")).toBe("fa044b2f42a3fd3b46fb255c");
    expect(k.hp.toString("hex")).toBe("9f50449e04a0e810283a1e9933adedd2");
  });
  test("v1: the RFC 9001 A.2 protected packet is reproduced and opened to SNI example.com", () => {
    const k = clientInitialKeys(QUIC_V1, DCID)!;
    const pkt = protect(A2_HEADER, A2_PAYLOAD, k, 2, 4);
    expect(pkt.length).toBe(1200);
    expect(Buffer.from(pkt.subarray(0, 32)).toString("hex")).toBe("c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11");
    expect(Buffer.from(pkt.subarray(1200 - 16)).toString("hex")).toBe("e221af44860018ab0856972e194cd934");
    const info = new HelloInfo();
    const r = quicClientPacket(pkt, 0, pkt.length, null, info);
    expect(r.status).toBe(QUIC_DONE);
    expect(info.sni).toBe("example.com");
  });
  test("v2 keys (RFC 9369 A.1) and an Initial protected with them", () => {
    const k = clientInitialKeys(QUIC_V2, DCID)!;
    expect(k.key.toString("hex")).toBe("8b1a0bc121284290a29e0971b5cd045d");
    expect(k.iv.toString("hex")).toBe("91f73e2351d8fa91660e909f");
    expect(k.hp.toString("hex")).toBe("45b95e15235d6f45a6b19cbcb0294ba9");
    const header = hex("d36b3343cf088394c8f03e5157080000449e00000002"); // v2 Initial: type bits 01
    const pkt = protect(header, A2_PAYLOAD, k, 2, 4);
    const info = new HelloInfo();
    expect(quicClientPacket(pkt, 0, pkt.length, null, info).status).toBe(QUIC_DONE);
    expect(info.sni).toBe("example.com");
  });
  test("a corrupted Initial is not opened and never throws", () => {
    const k = clientInitialKeys(QUIC_V1, DCID)!;
    const pkt = protect(A2_HEADER, A2_PAYLOAD, k, 2, 4);
    pkt[600]! ^= 1;
    const info = new HelloInfo();
    expect(quicClientPacket(pkt, 0, pkt.length, null, info).status).not.toBe(QUIC_DONE);
    for (let n = 0; n < 1200; n += 37) quicClientPacket(pkt, 0, n, null, info);
  });
});

describe("HTTP", () => {
  test("request, Host (port kept), response, absolute-form", () => {
    const req = ascii("GET /x HTTP/1.1\r\nUser-Agent: t\r\nHOST:  www.Example.com:8080 \r\n\r\n");
    expect(httpKind(req, 0, req.length)).toBe(1);
    expect(httpHost(req, 0, req.length)).toBe("www.example.com:8080");
    const res = ascii("HTTP/1.1 200 OK\r\n\r\n");
    expect(httpKind(res, 0, res.length)).toBe(2);
    const proxy = ascii("GET http://proxy.example/a HTTP/1.1\r\nAccept: */*\r\n\r\n");
    expect(httpHost(proxy, 0, proxy.length)).toBe("proxy.example");
    expect(httpKind(ascii("INVITE sip:a@b SIP/2.0\r\n"), 0, 24)).toBe(0);
  });
});

/** A DNS response for `name` with one A record. */
function dnsResponse(name: string, addr: number[], ttl = 300): Uint8Array {
  const q: number[] = [];
  for (const l of name.split(".")) q.push(l.length, ...ascii(l));
  q.push(0, 0, 1, 0, 1);
  const an = [0xc0, 12, 0, 1, 0, 1, ttl >>> 24, (ttl >> 16) & 255, (ttl >> 8) & 255, ttl & 255, 0, 4, ...addr];
  return Uint8Array.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...q, ...an]);
}

describe("DNS", () => {
  test("query name, answers into passive DNS (TTL-aware, LRU-bounded)", () => {
    const m = dnsResponse("api.Example.com", [93, 184, 216, 34]);
    const d = new DnsInfo();
    expect(parseDns(m, 0, m.length, d)).toBe(true);
    expect(d.qname).toBe("api.example.com");
    const pd = new PassiveDns({ maxEntries: 2, minTtl: 10 });
    expect(dnsAnswers(m, 0, m.length, d, (n, a, t) => pd.learn(n, a, t, 1000))).toBe(1);
    expect(pd.label("93.184.216.34", 1001)).toBe("api.example.com (93.184.216.34)");
    expect(pd.name("93.184.216.34", 1000 + 301)).toBeNull(); // expired
    for (let i = 0; i < 5; i++) pd.learn("n" + i, Uint8Array.of(10, 0, 0, i), 60, 0);
    expect(pd.size).toBe(2);
  });
  test("compression loops, forward pointers and hostile labels are rejected or escaped", () => {
    const loop = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(parseDns(loop, 0, loop.length, new DnsInfo())).toBe(false);
    const m = dnsResponse("<b>*.x", [1, 2, 3, 4]);
    const d = new DnsInfo();
    expect(parseDns(m, 0, m.length, d)).toBe(true);
    expect(d.qname).toBe("_b__.x");
  });
});

describe("signatures and dissectors on random bytes", () => {
  test("never throw, and random data is rarely called anything", () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    const buf = new Uint8Array(1500);
    let named = 0;
    for (let i = 0; i < 3000; i++) {
      const n = 1 + (rnd() * 6) % 1500;
      for (let j = 0; j < n; j++) buf[j] = rnd();
      const h = new Hint();
      for (const proto of [6, 17]) {
        if (matchPayload({ b: buf, p: 0, n, proto, fromInit: true, initPort: 40000 + i, respPort: 50000, hint: h }) !== 0) named++;
      }
      parseDns(buf, 0, n, new DnsInfo());
      httpHost(buf, 0, n);
      parseClientHelloStream(buf, 0, n, new HelloInfo());
      quicClientPacket(buf, 0, n, null, new HelloInfo());
    }
    expect(named).toBeLessThan(60); // < 1 % of 6000 random payloads
  });
});
