/*
 * Batch reader for libpcap, compiled at start by TinyCC (`cc` from bun:ffi).
 *
 * One call fills a buffer owned by JavaScript with packet records, so JS crosses
 * the FFI boundary once per batch instead of once per packet. Record layout
 * (little-endian host order, every record 4-byte aligned):
 *   u32 ts_sec, u32 ts_frac (us or ns, per the handle's precision),
 *   u32 stored (= min(caplen, snap)), u32 wire length, then `stored` bytes.
 *
 * No #include: TinyCC inside Bun has no system headers. TinyCC does not see a
 * library that JS dlopen'ed, so libpcap's pcap_dispatch comes in as a function
 * pointer; libc's poll() and memcpy() resolve from the running process.
 *
 * Limits: assumes a 64-bit little-endian host whose struct timeval is 16 bytes
 * with the fraction in the low 32 bits at offset 8 (Linux x86_64/arm64, macOS).
 */

typedef unsigned int u32;
typedef unsigned char u8;

struct fm_timeval { long long sec; u32 frac; u32 pad; };
struct fm_pkthdr { struct fm_timeval ts; u32 caplen; u32 len; };
struct fm_pollfd { int fd; short events; short revents; };

typedef void (*fm_handler)(u8 *user, const struct fm_pkthdr *h, const u8 *bytes);
typedef int (*fm_dispatch_fn)(void *p, int cnt, fm_handler cb, u8 *user);
int poll(struct fm_pollfd *fds, unsigned long nfds, int timeout);
void *memcpy(void *dst, const void *src, unsigned long n);

/* Status words written to status[0]. */
#define FM_FULL 1      /* buffer full: call again at once */
#define FM_IDLE 0      /* nothing more for now (live: timeout or drained) */
#define FM_EOF (-2)    /* end of file (offline) */
#define FM_ERROR (-1)  /* pcap error: read pcap_geterr() */
#define FM_BREAK (-3)  /* pcap_breakloop() was called */

struct fm_ctx { u8 *buf; u32 off; u32 cap; u32 snap; int count; };

static void fm_record(u8 *user, const struct fm_pkthdr *h, const u8 *bytes) {
  struct fm_ctx *c = (struct fm_ctx *)user;
  u32 stored = h->caplen < c->snap ? h->caplen : c->snap;
  u32 *w = (u32 *)(c->buf + c->off);
  w[0] = (u32)h->ts.sec;
  w[1] = h->ts.frac;
  w[2] = stored;
  w[3] = h->len;
  memcpy(c->buf + c->off + 16, bytes, stored);
  c->off += 16 + ((stored + 3) & ~3u);
  c->count++;
}

/*
 * Fill buf[0..cap) with records. snap must be a multiple of 4.
 * fd >= 0 (live, handle in non-blocking mode): poll fd for up to timeout_ms,
 * then drain what is ready without blocking. fd < 0: call pcap_dispatch
 * (blocking per the handle's mode) until the buffer is full, EOF, or a call
 * returns 0 packets. Returns the record count; status[0] says why it stopped,
 * status[1] holds the byte length used.
 */
int fm_read(void *dispatch, void *p, int fd, int timeout_ms,
            u8 *buf, int cap, int snap, int *status, int offline) {
  struct fm_ctx c;
  u32 maxrec = 16 + (u32)snap;
  int st = FM_IDLE;
  c.buf = buf; c.off = 0; c.cap = (u32)cap; c.snap = (u32)snap; c.count = 0;
  if (fd >= 0) {
    struct fm_pollfd pfd;
    pfd.fd = fd; pfd.events = 1; pfd.revents = 0; /* POLLIN */
    poll(&pfd, 1, timeout_ms);
    /* Errors (POLLERR, interface down) are reported by pcap_dispatch below. */
  }
  for (;;) {
    int room = (int)((c.cap - c.off) / maxrec);
    int r;
    if (room <= 0) { st = FM_FULL; break; }
    r = ((fm_dispatch_fn)dispatch)(p, room, fm_record, (u8 *)&c);
    if (r == -1) { st = FM_ERROR; break; }
    if (r == -2) { st = FM_BREAK; break; }
    if (r == 0) { st = offline ? FM_EOF : FM_IDLE; break; }
    if (!offline && fd < 0) break; /* blocking live handle: one dispatch per call */
  }
  status[0] = st;
  status[1] = (int)c.off;
  return c.count;
}
