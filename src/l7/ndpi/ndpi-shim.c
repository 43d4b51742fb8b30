/*
 * nDPI 4.2 (Debian libndpi4.2) behind a batch call, compiled by Bun's TinyCC for the measurement
 * of issue 11 (bench/l7-flows.ts with L7_ENGINE=ndpi). One FFI call per batch of packets: JS
 * copies each undecided flow's IP packet into `buf` and describes it in `desc` (slot, offset,
 * length, time in ms); results come back in `out` (master << 16 | app).
 *
 * TinyCC does not define __GNUC__, so nDPI's PACK_ON/PACK_OFF are left undefined by its header;
 * they are given the GNU meaning here (struct sizes then match the library: checked at init).
 */
#define PACK_ON
#define PACK_OFF __attribute__((packed))
#include <ndpi/ndpi_api.h>

static struct ndpi_detection_module_struct *mod;
static struct ndpi_flow_struct **flows;
static int nflows;

void *calloc(unsigned long n, unsigned long s);
void *realloc(void *p, unsigned long s);
void *memset(void *p, int c, unsigned long n);

int fmn_init(int slots) {
  mod = ndpi_init_detection_module(ndpi_no_prefs);
  if (!mod) return -1;
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(mod, &all);
  ndpi_finalize_initialization(mod);
  if ((int)sizeof(struct ndpi_flow_struct) != (int)ndpi_detection_get_sizeof_ndpi_flow_struct()) return -2;
  flows = calloc(slots, sizeof(void *));
  nflows = slots;
  return (int)ndpi_get_num_supported_protocols(mod);
}

int fmn_grow(int slots) {
  if (slots <= nflows) return nflows;
  flows = realloc(flows, slots * sizeof(void *));
  memset(flows + nflows, 0, (slots - nflows) * sizeof(void *));
  nflows = slots;
  return nflows;
}

const char *fmn_proto_name(int id) { return ndpi_get_proto_name(mod, (u_int16_t)id); }

static struct ndpi_flow_struct *flow_of(int slot) {
  struct ndpi_flow_struct *f = flows[slot];
  if (!f) {
    f = ndpi_flow_malloc(sizeof(struct ndpi_flow_struct));
    memset(f, 0, sizeof(struct ndpi_flow_struct));
    flows[slot] = f;
  }
  return f;
}

/* desc: 4 u32 per packet (slot, offset in buf, IP length, time ms); out: 1 u32 per packet. */
int fmn_batch(const unsigned char *buf, const unsigned int *desc, int n, unsigned int *out) {
  for (int i = 0; i < n; i++) {
    const unsigned int *d = desc + 4 * i;
    struct ndpi_flow_struct *f = flow_of((int)d[0]);
    ndpi_protocol p = ndpi_detection_process_packet(mod, f, buf + d[1], (unsigned short)d[2], (u_int64_t)d[3]);
    unsigned int r = ((unsigned int)p.master_protocol << 16) | p.app_protocol;
    if (r != 0 && ndpi_extra_dissection_possible(mod, f)) r |= 0x80000000u; /* still wants packets */
    out[i] = r;
  }
  return n;
}

unsigned int fmn_giveup(int slot) {
  struct ndpi_flow_struct *f = flows[slot];
  if (!f) return 0;
  u_int8_t guessed = 0;
  ndpi_protocol p = ndpi_detection_giveup(mod, f, 1, &guessed);
  return ((unsigned int)p.master_protocol << 16) | p.app_protocol | (guessed ? 0x40000000u : 0);
}

const char *fmn_host(int slot) {
  struct ndpi_flow_struct *f = flows[slot];
  return f ? f->host_server_name : "";
}

void fmn_free(int slot) {
  if (slot < nflows && flows[slot]) {
    ndpi_free_flow(flows[slot]);
    flows[slot] = 0;
  }
}

int fmn_flow_size(void) { return (int)sizeof(struct ndpi_flow_struct); }
