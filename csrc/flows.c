/*
 * flows.c -- one-pass 5-tuple flow assembly with bounded memory.  The contract (split modes, TCP
 * rules, timeouts, limits, eviction, emission order) is in flows.h; this file only says how.
 *
 * Data structures (all owned by the table, all accounted in stats.memory_bytes):
 *   slots[]      open-addressing hash table, linear probing, power-of-two capacity, load <= 3/4,
 *                backward-shift deletion (no deleted markers, so probe lengths never degrade).
 *                A slot caches the 64-bit hash so that most mismatches cost no key comparison.
 *   flow_entry   one per open flow or closed record: the key packed into five words (pack_key;
 *                in SESSION mode both orientations pack alike, so one lookup finds a session
 *                from either side and a swap flag gives the direction), TCP state, list links,
 *                the hf_flow under construction.
 *   idle list    open entries, least recently active first.  The table clock never goes back,
 *                so "activity clock" is non-decreasing along the list and idle expiry and LRU
 *                eviction only ever look at the head: O(1) amortised per packet.
 *   age list     open entries in creation order = non-decreasing start clock: active expiry and
 *                end-of-input flushing look at the head only.
 *   closed list  closed records in closing order (constant linger => expiry order).
 *   batch        flows completed in the current step, sorted by (first_record_index, creation
 *                serial) before they join the completed queue (flows.h, ORDER).
 * Completion never allocates (the hf_flow is allocated when its flow starts and moves to the
 * queue by relinking), so timeouts, evictions and finish cannot fail half-way.  Every allocation
 * a packet needs is made before the table is changed: on HF_NOMEM the packet is simply not added.
 *
 * A flow is one growable block: the hf_flow, its kept packets back to back, its views
 * (flow_resize).  The views hold lengths only until the flow completes, when their data pointers
 * are set (the block may move while it grows, so pointers cannot be stored earlier).
 */
#include "flows.h"

#include <string.h>

#include "bytes.h"

/* A key packed into five words for hashing and comparison: the two endpoints' addresses (two
 * words each) and one word of ports, family and protocol.  SESSION mode packs the endpoints in
 * a canonical order (either orientation of a session packs alike) and remembers whether it had
 * to swap them; the order itself is arbitrary (native-endian word compare) because only
 * equality and the hash depend on it, never a result. */
typedef struct packed_key {
    uint64_t word[5];
} packed_key;

typedef struct flow_entry {
    packed_key packed;             /* the key (see pack_key); the hash is computed from it */
    uint64_t hash;
    struct flow_entry *list_prev;  /* idle list when open, closed list when closed */
    struct flow_entry *list_next;
    struct flow_entry *age_prev;   /* age list; open entries only */
    struct flow_entry *age_next;
    int64_t activity_clock_ns;     /* table clock at the last packet (closed: at closing) */
    int64_t start_clock_ns;        /* table clock at the first packet */
    hf_flow *flow;                 /* owned; NULL when closed; stats.memory_bytes holds its
                                      flow_cost */
    size_t geometric_bytes;        /* the byte capacity geometric growth gives `flow` (flows.h,
                                      BOUNDED MEMORY); its block may be larger (first_block) */
    uint8_t first_block;           /* the flow's block may exceed its geometric capacities */
    uint8_t closed;
    uint8_t swapped;               /* SESSION: pack_key swapped the oriented key's endpoints */
    uint8_t fin_seen[2];           /* SESSION: per direction (0 = from address[0]); FLOW: [0] */
    uint8_t first_fin_direction;   /* SESSION: direction of the first FIN */
    uint8_t peer_fin;              /* FLOW: the reverse direction sent the second FIN */
} flow_entry;

typedef struct slot {
    uint64_t hash;
    flow_entry *entry;             /* NULL = empty */
} slot;

struct hf_flow_table {
    hf_flow_config config;
    slot *slots;                   /* owned */
    size_t slot_capacity;          /* power of two */
    size_t slot_count;
    flow_entry *idle_head, *idle_tail;
    flow_entry *closed_head, *closed_tail;
    flow_entry *age_head, *age_tail;
    hf_flow *batch_head, *batch_tail;
    hf_flow *completed_head, *completed_tail;
    uint64_t hash_seed;            /* config.hash_seed, spread (mix64) */
    flow_entry *pool;              /* owned: freed entries kept for reuse (entry_take), through
                                      list_next; accounted like live ones */
    size_t pool_count;
    size_t first_block_count;      /* open entries with first_block set */
    size_t first_block_max;        /* ... at most this many (the room they hold is bounded) */
    int64_t clock_ns;
    int clock_started;
    /* expire_timeouts has nothing to do while clock_ns <= expiry_clock_ns: a lower bound of the
     * earliest deadline of the three lists' heads, so that a packet does not read the head
     * entries (the least recently used, hence cold, cache lines) to learn that none is due.  A
     * head's deadline only grows (appends are at the current clock, at the tail), except when
     * an empty list gets an entry: list_deadline then lowers the bound. */
    int64_t expiry_clock_ns;
    uint64_t next_serial;
    uint64_t next_sequence;
    hf_flow_stats stats;
};

#define INITIAL_SLOT_CAPACITY 16
#define INITIAL_VIEW_CAPACITY 4
#define INITIAL_BYTE_CAPACITY 64
/* Freed entries kept for the next flows: a malloc and a free per flow less.  Closed records
 * leave in bursts (closed_linger), so the pool must ride out a burst: on the 66,800-session
 * benchmark 64 entries still missed 23 % of the time, 1024 (120 KiB) never after warm-up. */
#define ENTRY_POOL_MAX 1024
/* A bounded flow's first block holds this many kept bytes (first_block), for at most
 * FIRST_BLOCK_ROOM_MAX bytes of such blocks in all (~3,500 open flows at 256 bytes per packet). */
#define FIRST_BLOCK_BYTES 2048
#define FIRST_BLOCK_PACKET_BYTES 64   /* ... and views for FIRST_BLOCK_BYTES / 64 packets */
#define FIRST_BLOCK_ROOM_MAX ((size_t)8 * 1024 * 1024)

/* ------------------------------------------------------------------------------------------ */

const char *hf_flow_end_name(hf_flow_end reason)
{
    switch (reason) {
    case HF_FLOW_END_FIN: return "fin";
    case HF_FLOW_END_RST: return "rst";
    case HF_FLOW_END_NEW_SYN: return "new_syn";
    case HF_FLOW_END_IDLE: return "idle";
    case HF_FLOW_END_ACTIVE: return "active";
    case HF_FLOW_END_EVICTED: return "evicted";
    case HF_FLOW_END_INPUT: return "end_of_input";
    }
    return "unknown";
}

void hf_flow_config_init(hf_flow_config *config)
{
    if (config == NULL) return;
    memset(config, 0, sizeof *config);
    config->split_mode = HF_SPLIT_SESSION;
    config->idle_timeout_ns = HF_FLOW_DEFAULT_IDLE_TIMEOUT_NS;
    config->active_timeout_ns = HF_FLOW_DEFAULT_ACTIVE_TIMEOUT_NS;
    config->closed_linger_ns = HF_FLOW_DEFAULT_CLOSED_LINGER_NS;
    config->max_packets = 0;
    config->min_packets = 0;
    config->bytes_per_packet = SIZE_MAX;
    config->max_memory_bytes = HF_FLOW_DEFAULT_MAX_MEMORY_BYTES;
    config->keep_non_ip = 0;
    config->hash_seed = 0;
}

void hf_flow_free(hf_flow *flow)
{
    hf_free(flow);  /* its bytes and views are in the same block (flow_resize) */
}

/* ---- accounting -------------------------------------------------------------------------- */

static void account_add(hf_flow_table *table, size_t n)
{
    /* Cannot overflow: everything accounted exists in memory at the same time. */
    table->stats.memory_bytes += n;
    if (table->stats.memory_bytes > table->stats.peak_memory_bytes)
        table->stats.peak_memory_bytes = table->stats.memory_bytes;
}

static void account_sub(hf_flow_table *table, size_t n)
{
    if (HF_NEVER(n > table->stats.memory_bytes)) n = table->stats.memory_bytes;
    table->stats.memory_bytes -= n;
}

static size_t flow_cost(const hf_flow *flow)
{
    /* No overflow: both capacities were allocated. */
    return sizeof *flow + flow->kept_bytes_capacity_ +
           flow->packets_capacity_ * sizeof(hf_packet_view);
}

/* Re-account a flow whose block changed from `before` bytes of cost to its current one. */
static void account_flow(hf_flow_table *table, const hf_flow *flow, size_t before)
{
    account_sub(table, before);
    account_add(table, flow_cost(flow));
}

/* ---- keys and hashing -------------------------------------------------------------------- */

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);  /* key memory, not packet memory: byte order does not matter */
    return v;
}

static uint64_t ports_word(uint16_t port_a, uint16_t port_b, const hf_flow_key *key)
{
    return ((uint64_t)port_a << 48) | ((uint64_t)port_b << 32) | ((uint64_t)key->family << 8) |
           key->protocol;
}

/* OUT: *swapped = 1 when the endpoints were packed in reverse order (symmetric only; a key
 * whose two endpoints are equal is never swapped, so it matches as direction 0).  pack_key,
 * hash_packed and table_lookup run for every packet and are forced inline: as calls they cost
 * 22 of ~1,400 instructions per packet (callgrind, session benchmark). */
static HF_ALWAYS_INLINE packed_key pack_key(const hf_flow_key *key, int symmetric,
                                             uint8_t *swapped)
{
    uint64_t a0, a1, b0, b1;
    if (key->family == 4) {  /* bytes 4..15 may hold anything (flows.h) */
        uint32_t a, b;
        memcpy(&a, key->address[0], 4);
        memcpy(&b, key->address[1], 4);
        a0 = a; b0 = b; a1 = b1 = 0;
    } else {
        a0 = load64(key->address[0]); a1 = load64(key->address[0] + 8);
        b0 = load64(key->address[1]); b1 = load64(key->address[1] + 8);
    }
    int swap = symmetric && (a0 != b0 ? a0 > b0 : a1 != b1 ? a1 > b1 : key->port[0] > key->port[1]);
    packed_key k;
    if (swap) {
        k.word[0] = b0; k.word[1] = b1; k.word[2] = a0; k.word[3] = a1;
        k.word[4] = ports_word(key->port[1], key->port[0], key);
    } else {
        k.word[0] = a0; k.word[1] = a1; k.word[2] = b0; k.word[3] = b1;
        k.word[4] = ports_word(key->port[0], key->port[1], key);
    }
    *swapped = (uint8_t)swap;
    return k;
}

/* The packed key of the reverse direction (FLOW mode: the endpoints are never swapped). */
static packed_key packed_reverse(const packed_key *k)
{
    packed_key r = {{k->word[2], k->word[3], k->word[0], k->word[1],
                     (k->word[4] & 0xffffffffULL) | ((k->word[4] >> 16) & 0xffff00000000ULL) |
                         ((k->word[4] & 0xffff00000000ULL) << 16)}};
    return r;
}

static int packed_equal(const packed_key *x, const packed_key *y)
{
    /* No early exit: five independent compares are cheaper than their branches. */
    return ((x->word[0] ^ y->word[0]) | (x->word[1] ^ y->word[1]) | (x->word[2] ^ y->word[2]) |
            (x->word[3] ^ y->word[3]) | (x->word[4] ^ y->word[4])) == 0;
}

/* SplitMix64's finaliser (Steele, Lea, Flood 2014): a full-avalanche 64-bit permutation, used
 * once per table to spread the configured seed. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* The 128-bit product of a and b folded to 64 bits (hi ^ lo): the mixing step of wyhash-style
 * hashes; every output bit depends on every bit of both inputs. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __extension__ typedef unsigned __int128 u128;
    u128 product = (u128)a * b;
    return (uint64_t)product ^ (uint64_t)(product >> 64);
}

/* Keyed hash of a packed key: three multiplies of keyed word pairs (as wyhash does), each pair
 * keyed differently so that equal words in different positions do not cancel.  The seed keeps
 * an attacker who does not know it from choosing colliding keys (flooding).  It replaced five
 * multiply-xorshift lanes and a finaliser: 50 -> ~20 instructions per packet (callgrind). */
static HF_ALWAYS_INLINE uint64_t hash_packed(uint64_t seed, const packed_key *k)
{
    return mum(k->word[0] ^ seed, k->word[1] ^ (seed + 0x632be59bd9b4e019ULL)) ^
           mum(k->word[2] ^ (seed + 0x8cb92ba72f3d8dd7ULL),
               k->word[3] ^ (seed + 0xd6e8feb86659fd93ULL)) ^
           mum(k->word[4] ^ (seed + 0xa0761d6478bd642fULL), seed ^ 0xe7037ed1a0b428dbULL);
}

static hf_flow_key reversed_key(const hf_flow_key *key)
{
    hf_flow_key r = *key;
    memcpy(r.address[0], key->address[1], 16);
    memcpy(r.address[1], key->address[0], 16);
    r.port[0] = key->port[1];
    r.port[1] = key->port[0];
    return r;
}

/* ---- hash table -------------------------------------------------------------------------- */

static int symmetric_mode(const hf_flow_table *table)
{
    return table->config.split_mode == HF_SPLIT_SESSION;
}

/* OUT: the entry whose packed key is `key`, or NULL. */
static HF_ALWAYS_INLINE flow_entry *table_lookup(const hf_flow_table *table, const packed_key *key,
                                                 uint64_t hash)
{
    size_t mask = table->slot_capacity - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        const slot *s = &table->slots[i];
        if (s->entry == NULL) return NULL;
        if (s->hash == hash && packed_equal(&s->entry->packed, key)) return s->entry;
    }
}

/* Precondition: a free slot exists (load <= 3/4). */
static void slots_insert(slot *slots, size_t capacity, flow_entry *entry)
{
    size_t mask = capacity - 1;
    size_t i = (size_t)entry->hash & mask;
    while (slots[i].entry != NULL) i = (i + 1) & mask;
    slots[i].hash = entry->hash;
    slots[i].entry = entry;
}

/* Make room for one more entry.  Errors: HF_NOMEM (table unchanged). */
static hf_status table_reserve_slot(hf_flow_table *table)
{
    /* Grow at load 3/4; slot_count < capacity so the products below cannot overflow before the
     * capacity itself is near SIZE_MAX / 4, which the doubling check refuses. */
    if ((table->slot_count + 1) * 4 <= table->slot_capacity * 3) return HF_OK;
    size_t capacity, bytes;
    if (hf_size_mul(table->slot_capacity, 2, &capacity) ||
        hf_size_mul(capacity, sizeof(slot), &bytes) || capacity > SIZE_MAX / 4)
        return HF_NOMEM;
    slot *grown = hf_calloc(capacity, sizeof(slot));
    if (grown == NULL) return HF_NOMEM;
    for (size_t i = 0; i < table->slot_capacity; i++)
        if (table->slots[i].entry != NULL) slots_insert(grown, capacity, table->slots[i].entry);
    account_sub(table, table->slot_capacity * sizeof(slot));
    account_add(table, bytes);
    hf_free(table->slots);
    table->slots = grown;
    table->slot_capacity = capacity;
    return HF_OK;
}

/* Remove `entry` from the slots with backward-shift deletion (Knuth 6.4 algorithm R). */
static void table_delete(hf_flow_table *table, const flow_entry *entry)
{
    size_t mask = table->slot_capacity - 1;
    size_t i = (size_t)entry->hash & mask;
    while (table->slots[i].entry != entry) {
        if (HF_NEVER(table->slots[i].entry == NULL)) return;
        i = (i + 1) & mask;
    }
    table->slots[i].entry = NULL;
    table->slot_count--;
    for (size_t j = (i + 1) & mask; table->slots[j].entry != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)table->slots[j].hash & mask;
        /* Slot j may move to the hole i unless its home lies cyclically in (i, j]. */
        int home_in_between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!home_in_between) {
            table->slots[i] = table->slots[j];
            table->slots[j].entry = NULL;
            i = j;
        }
    }
}

/* ---- lists ------------------------------------------------------------------------------- */

static void list_unlink(flow_entry **head, flow_entry **tail, flow_entry *entry)
{
    if (entry->list_prev) entry->list_prev->list_next = entry->list_next; else *head = entry->list_next;
    if (entry->list_next) entry->list_next->list_prev = entry->list_prev; else *tail = entry->list_prev;
    entry->list_prev = entry->list_next = NULL;
}

static void list_append(flow_entry **head, flow_entry **tail, flow_entry *entry)
{
    entry->list_prev = *tail;
    entry->list_next = NULL;
    if (*tail) (*tail)->list_next = entry; else *head = entry;
    *tail = entry;
}

static void age_unlink(hf_flow_table *table, flow_entry *entry)
{
    if (entry->age_prev) entry->age_prev->age_next = entry->age_next; else table->age_head = entry->age_next;
    if (entry->age_next) entry->age_next->age_prev = entry->age_prev; else table->age_tail = entry->age_prev;
    entry->age_prev = entry->age_next = NULL;
}

static void age_append(hf_flow_table *table, flow_entry *entry)
{
    entry->age_prev = table->age_tail;
    entry->age_next = NULL;
    if (table->age_tail) table->age_tail->age_next = entry; else table->age_head = entry;
    table->age_tail = entry;
}

/* ---- completion -------------------------------------------------------------------------- */

/* The clock at which an entry dated `clock` passes `timeout` (0: never), saturated. */
static int64_t deadline_after(int64_t clock, int64_t timeout)
{
    if (timeout <= 0 || clock > INT64_MAX - timeout) return INT64_MAX;
    return clock + timeout;
}

/* An entry joins a list at the current clock (see expiry_clock_ns). */
static void list_deadline(hf_flow_table *table, int64_t timeout)
{
    int64_t due = deadline_after(table->clock_ns, timeout);
    if (due < table->expiry_clock_ns) table->expiry_clock_ns = due;
}

static int flow_before(const hf_flow *a, const hf_flow *b)
{
    if (a->first_record_index != b->first_record_index)
        return a->first_record_index < b->first_record_index;
    return a->creation_serial_ < b->creation_serial_;
}

/* Stable merge sort of a singly linked list through next_ (no allocation). */
static hf_flow *sort_flows(hf_flow *list)
{
    if (list == NULL || list->next_ == NULL) return list;
    hf_flow *slow = list, *fast = list->next_;
    while (fast && fast->next_) { slow = slow->next_; fast = fast->next_->next_; }
    hf_flow *second = slow->next_;
    slow->next_ = NULL;
    hf_flow *a = sort_flows(list), *b = sort_flows(second);
    hf_flow head, *tail = &head;
    while (a && b) {
        if (flow_before(b, a)) { tail->next_ = b; b = b->next_; }
        else { tail->next_ = a; a = a->next_; }
        tail = tail->next_;
    }
    tail->next_ = a ? a : b;
    return head.next_;
}

/* Move the flows completed in this step to the queue in the documented order. */
static void flush_batch(hf_flow_table *table)
{
    if (table->batch_head == NULL) return;  /* the common case: nothing completed */
    hf_flow *flow = sort_flows(table->batch_head);
    table->batch_head = table->batch_tail = NULL;
    while (flow) {
        hf_flow *next = flow->next_;
        flow->next_ = NULL;
        flow->sequence = table->next_sequence++;
        if (table->completed_tail) table->completed_tail->next_ = flow; else table->completed_head = flow;
        table->completed_tail = flow;
        table->stats.flows_emitted++;
        flow = next;
    }
}

/* A zeroed entry, not accounted yet (the caller accounts it when it joins the table): from the
 * pool, else allocated.  NULL when out of memory. */
static flow_entry *entry_take(hf_flow_table *table)
{
    flow_entry *entry = table->pool;
    if (entry == NULL) return hf_calloc(1, sizeof *entry);
    table->pool = entry->list_next;
    table->pool_count--;
    account_sub(table, sizeof *entry);
    memset(entry, 0, sizeof *entry);
    return entry;
}

/* Give back an entry that is in no list and no longer accounted: to the pool (accounted
 * there: the table still holds it) or to the allocator. */
static void entry_release(hf_flow_table *table, flow_entry *entry)
{
    if (table->pool_count >= ENTRY_POOL_MAX) {
        hf_free(entry);
        return;
    }
    entry->list_next = table->pool;
    table->pool = entry;
    table->pool_count++;
    account_add(table, sizeof *entry);
}

/* Free the pooled entries.  Memory pressure empties the pool before it evicts anything, so
 * that evictions are those of a table without a pool. */
static void pool_drain(hf_flow_table *table, size_t keep)
{
    while (table->pool_count > keep) {
        flow_entry *entry = table->pool;
        table->pool = entry->list_next;
        table->pool_count--;
        account_sub(table, sizeof *entry);
        hf_free(entry);
    }
}

/* Free an entry that is in the slots and on the idle/closed list (and age list when open). */
static void entry_remove(hf_flow_table *table, flow_entry *entry)
{
    table_delete(table, entry);
    if (entry->closed) {
        list_unlink(&table->closed_head, &table->closed_tail, entry);
    } else {
        list_unlink(&table->idle_head, &table->idle_tail, entry);
        age_unlink(table, entry);
    }
    if (entry->flow) account_sub(table, flow_cost(entry->flow));
    hf_flow_free(entry->flow);
    account_sub(table, sizeof *entry);
    entry_release(table, entry);
}

/* Complete the entry's flow with `reason` and hand it to the batch (or drop it when short).
 * The entry then becomes a closed record (FIN/RST with linger), stays for reuse (NEW_SYN: the
 * caller attaches the next flow) or is removed.  Never allocates. */
static void entry_complete(hf_flow_table *table, flow_entry *entry, hf_flow_end reason)
{
    hf_flow *flow = entry->flow;
    entry->flow = NULL;
    account_sub(table, flow_cost(flow));
    if (entry->first_block) {
        entry->first_block = 0;
        table->first_block_count--;
    }
    table->stats.open_flows--;
    if (reason == HF_FLOW_END_EVICTED) table->stats.flows_evicted++;

    flow->end_reason = reason;
    size_t offset = 0;
    for (size_t i = 0; i < flow->kept_count; i++) {
        /* kept_bytes_ is NULL when every kept string is empty (NULL + 0 is undefined). */
        flow->packets[i].data = flow->kept_bytes_ ? flow->kept_bytes_ + offset : NULL;
        offset += flow->packets[i].length;
    }
    if (flow->packet_count < table->config.min_packets) {
        table->stats.flows_dropped_short++;
        hf_flow_free(flow);
    } else {
        if (table->batch_tail) table->batch_tail->next_ = flow; else table->batch_head = flow;
        table->batch_tail = flow;
    }

    if (reason == HF_FLOW_END_NEW_SYN) return;
    if ((reason == HF_FLOW_END_FIN || reason == HF_FLOW_END_RST) && table->config.closed_linger_ns > 0) {
        list_unlink(&table->idle_head, &table->idle_tail, entry);
        age_unlink(table, entry);
        entry->closed = 1;
        entry->activity_clock_ns = table->clock_ns;
        list_append(&table->closed_head, &table->closed_tail, entry);
        list_deadline(table, table->config.closed_linger_ns);
        return;
    }
    entry_remove(table, entry);
}

/* clock - earlier as an unsigned distance (clock >= earlier always: the clock only grows). */
static uint64_t elapsed(int64_t clock, int64_t earlier)
{
    return (uint64_t)clock - (uint64_t)earlier;
}

/* The head of each list that is due (passed its timeout at the current clock), or NULL: the
 * expiry loops below and the HF_DEBUG check of expiry_clock_ns share these definitions. */
static flow_entry *idle_due(const hf_flow_table *table)
{
    flow_entry *head = table->idle_head;
    int64_t timeout = table->config.idle_timeout_ns;
    return head && timeout > 0 &&
           elapsed(table->clock_ns, head->activity_clock_ns) > (uint64_t)timeout ? head : NULL;
}

static flow_entry *active_due(const hf_flow_table *table)
{
    flow_entry *head = table->age_head;
    int64_t timeout = table->config.active_timeout_ns;
    return head && timeout > 0 &&
           elapsed(table->clock_ns, head->start_clock_ns) > (uint64_t)timeout ? head : NULL;
}

static flow_entry *closed_due(const hf_flow_table *table)
{
    flow_entry *head = table->closed_head;
    return head && elapsed(table->clock_ns, head->activity_clock_ns) >
                       (uint64_t)table->config.closed_linger_ns ? head : NULL;
}

static void expire_timeouts(hf_flow_table *table)
{
    if (table->clock_ns <= table->expiry_clock_ns) {  /* nothing is due */
#if defined(HF_DEBUG)  /* the bound's contract, on every packet (not in release builds) */
        (void)HF_NEVER(idle_due(table) || active_due(table) || closed_due(table));
#endif
        return;
    }
    flow_entry *due;
    while ((due = idle_due(table)) != NULL) entry_complete(table, due, HF_FLOW_END_IDLE);
    while ((due = active_due(table)) != NULL) entry_complete(table, due, HF_FLOW_END_ACTIVE);
    flush_batch(table);
    while ((due = closed_due(table)) != NULL) entry_remove(table, due);
    const hf_flow_config *c = &table->config;
    int64_t next = INT64_MAX, at;
    if (table->idle_head &&
        (at = deadline_after(table->idle_head->activity_clock_ns, c->idle_timeout_ns)) < next)
        next = at;
    if (table->age_head &&
        (at = deadline_after(table->age_head->start_clock_ns, c->active_timeout_ns)) < next)
        next = at;
    if (table->closed_head &&
        (at = deadline_after(table->closed_head->activity_clock_ns, c->closed_linger_ns)) < next)
        next = at;
    table->expiry_clock_ns = next;
}

static void trim_first_blocks(hf_flow_table *table);

static void evict_over_limit(hf_flow_table *table)
{
    size_t limit = table->config.max_memory_bytes;
    if (limit == 0) return;
    /* First the room of first blocks: then the memory is what geometric growth makes it, and
     * the evictions below are the documented ones. */
    if (table->stats.memory_bytes > limit && table->first_block_count) trim_first_blocks(table);
    while (table->stats.memory_bytes > limit) {
        if (table->pool) {
            pool_drain(table, table->pool_count - 1);
        } else if (table->closed_head) {
            entry_remove(table, table->closed_head);
        } else if (table->idle_head) {
            entry_complete(table, table->idle_head, HF_FLOW_END_EVICTED);
            flush_batch(table);
        } else {
            break;  /* only the slot array is left; it cannot be evicted */
        }
    }
}

/* ---- packet storage ---------------------------------------------------------------------- */

/* Geometric growth towards `needed`, never beyond `limit` (>= needed) so that a flow whose
 * size is bounded by max_packets does not hold twice what it can use. */
static size_t grown_capacity(size_t capacity, size_t needed, size_t initial, size_t limit)
{
    size_t next = capacity == 0 ? initial : (capacity > SIZE_MAX / 2 ? SIZE_MAX : capacity * 2);
    if (next > limit) next = limit;
    if (next < needed) next = needed;
    return next;
}

static int flow_keeps_next(const hf_flow_table *table, const hf_flow *flow)
{
    return table->config.max_packets == 0 || flow->kept_count < table->config.max_packets;
}

/* One allocation per flow: the hf_flow, then its kept bytes (capacity rounded up to a multiple
 * of 8 so that the views that follow are aligned), then its views.  Growing either moves the
 * views only (at most 16 bytes per kept packet), never the bytes, and freeing a flow is one
 * free.  Only the capacities are accounted (flow_cost), as before; the rounding is allocator
 * overhead. */
static size_t views_offset(size_t byte_capacity)
{
    return sizeof(hf_flow) + ((byte_capacity + 7) & ~(size_t)7);
}

/* Resize `*flow` (NULL: create a zeroed one) to the given capacities (>= the current ones).
 * Errors: HF_NOMEM (*flow unchanged). */
static hf_status flow_resize(hf_flow **flow, size_t byte_capacity, size_t view_capacity)
{
    size_t views_bytes, size;
    if (byte_capacity > SIZE_MAX - sizeof(hf_flow) - 8 ||
        hf_size_mul(view_capacity, sizeof(hf_packet_view), &views_bytes) ||
        hf_size_add(views_offset(byte_capacity), views_bytes, &size))
        return HF_NOMEM;
    hf_flow *old = *flow;
    hf_flow *grown = hf_realloc(old, size);
    if (grown == NULL) return HF_NOMEM;
    if (old == NULL) memset(grown, 0, sizeof *grown);
    uint8_t *base = (uint8_t *)grown;
    size_t old_offset = views_offset(grown->kept_bytes_capacity_);
    if (grown->kept_count && old_offset != views_offset(byte_capacity))
        memmove(base + views_offset(byte_capacity), base + old_offset,
                grown->kept_count * sizeof(hf_packet_view));
    grown->kept_bytes_capacity_ = byte_capacity;
    grown->packets_capacity_ = view_capacity;
    grown->kept_bytes_ = byte_capacity ? base + sizeof(hf_flow) : NULL;
    grown->packets = view_capacity ? (hf_packet_view *)(void *)(base + views_offset(byte_capacity))
                                   : NULL;
    *flow = grown;
    return HF_OK;
}

static size_t byte_limit(const hf_flow_config *config)
{
    size_t limit = SIZE_MAX;
    if (config->max_packets && config->bytes_per_packet != SIZE_MAX &&
        hf_size_mul(config->max_packets, config->bytes_per_packet, &limit))
        limit = SIZE_MAX;
    return limit;
}

/* The view capacity geometric growth gives a flow holding `kept` packets: views grow one packet
 * at a time, so it depends on the count alone (the first of 4, 8, 16, ... capped by
 * max_packets that holds max(kept, 1)). */
static size_t geometric_views(const hf_flow_config *config, size_t kept)
{
    size_t limit = config->max_packets ? config->max_packets : SIZE_MAX, capacity = 0;
    if (kept == 0) kept = 1;
    while (capacity < kept)
        capacity = grown_capacity(capacity, capacity + 1, INITIAL_VIEW_CAPACITY, limit);
    return capacity;
}

/* The capacities of a first block (first_block).  Its view capacity is one that geometric
 * growth passes through, so that the views' geometric capacity never overtakes it (it reaches
 * it and then grows with it, flow_reserve).  Returns 0 when the config gives none: the flow's
 * size is not bounded (max_packets or bytes_per_packet unlimited, or nothing kept). */
static int first_block_size(const hf_flow_config *config, size_t *bytes, size_t *views)
{
    if (config->max_packets == 0 || config->bytes_per_packet == SIZE_MAX ||
        config->bytes_per_packet == 0)
        return 0;
    *bytes = byte_limit(config) < FIRST_BLOCK_BYTES ? byte_limit(config) : FIRST_BLOCK_BYTES;
    /* Views for as many packets as the bytes hold at FIRST_BLOCK_PACKET_BYTES each, not at
     * bytes_per_packet: most kept packets are short (ACKs), and views sized for 256-byte packets
     * (8) made most flows of the session benchmark grow their block twice just for views. */
    size_t per_packet = config->bytes_per_packet < FIRST_BLOCK_PACKET_BYTES
                        ? config->bytes_per_packet : FIRST_BLOCK_PACKET_BYTES;
    size_t packets = FIRST_BLOCK_BYTES / per_packet;
    *views = geometric_views(config, packets < config->max_packets ? packets : config->max_packets);
    return 1;
}

/* The block a new flow starts with, given its geometric capacities.  Growing from the first
 * packet's size by doubling costs several reallocations per flow (on the 66,800-session
 * benchmark, ~5 per flow), so a bounded flow starts with room for FIRST_BLOCK_BYTES of packets
 * -- while the table is at most half full and fewer than first_block_max flows hold such room.
 * The room is accounted like any block and given back (trim_first_blocks) before anything is
 * evicted, so evictions happen exactly as with geometric growth (flows.h, BOUNDED MEMORY).
 * OUT: *first = 1 if the capacities were raised. */
static void first_block(const hf_flow_table *table, size_t *bytes, size_t *views, int *first)
{
    const hf_flow_config *c = &table->config;
    size_t b, v;
    *first = 0;
    if (table->first_block_count >= table->first_block_max || !first_block_size(c, &b, &v)) return;
    if (b <= *bytes && v <= *views) return;
    if (b < *bytes) b = *bytes;
    if (v < *views) v = *views;
    size_t cost = sizeof(hf_flow) + b + v * sizeof(hf_packet_view);  /* small: b, v <= 4096 */
    if (c->max_memory_bytes != 0 && (table->stats.memory_bytes > c->max_memory_bytes / 2 ||
                                     cost > c->max_memory_bytes / 2 - table->stats.memory_bytes))
        return;
    *bytes = b;
    *views = v;
    *first = 1;
}

/* Make room for a packet of `n` kept bytes in `*flow` (NULL: a new flow, created), which keeps
 * it (flow_keeps_next).  IN/OUT: *geometric = the flow's geometric byte capacity (0 for a new
 * flow), updated on success; OUT: *first = 1 if a new flow got a first block.  The block is
 * never smaller than the geometric capacities (so its cost is never below theirs): it grows to
 * the geometric byte capacity as soon as that passes it, and its views grow when full, when
 * they equal the geometric ones (first_block_size), to the same next capacity.
 * Errors: HF_NOMEM (contents and *geometric unchanged; an existing flow is unchanged). */
static hf_status flow_reserve(const hf_flow_table *table, hf_flow **flow, size_t *geometric,
                              size_t n, int *first)
{
    hf_flow *f = *flow;
    *first = 0;
    size_t max_packets = table->config.max_packets;
    size_t kept_count = f ? f->kept_count : 0;
    size_t view_capacity = f ? f->packets_capacity_ : 0;
    size_t byte_capacity = f ? f->kept_bytes_capacity_ : 0;
    size_t needed, grown = *geometric;
    if (hf_size_add(f ? f->kept_bytes_length_ : 0, n, &needed)) return HF_NOMEM;
    if (needed > grown)
        grown = grown_capacity(grown, needed, INITIAL_BYTE_CAPACITY, byte_limit(&table->config));
    if (kept_count == view_capacity)
        view_capacity = grown_capacity(view_capacity, kept_count + 1, INITIAL_VIEW_CAPACITY,
                                       max_packets ? max_packets : SIZE_MAX);
    if (grown > byte_capacity) byte_capacity = grown;
    if (f == NULL) first_block(table, &byte_capacity, &view_capacity, first);
    if (f == NULL || view_capacity != f->packets_capacity_ ||
        byte_capacity != f->kept_bytes_capacity_) {
        if (flow_resize(flow, byte_capacity, view_capacity) != HF_OK) {
            *first = 0;
            return HF_NOMEM;
        }
    }
    *geometric = grown;
    return HF_OK;
}

/* Shrink `*flow` to the given capacities (>= what it holds).  The views move down inside the
 * block first and back if the smaller block cannot be had.  Errors: HF_NOMEM (unchanged). */
static hf_status flow_shrink(hf_flow **flow, size_t byte_capacity, size_t view_capacity)
{
    hf_flow *f = *flow;
    uint8_t *base = (uint8_t *)f;
    size_t old_offset = views_offset(f->kept_bytes_capacity_), offset = views_offset(byte_capacity);
    size_t views_bytes = f->kept_count * sizeof(hf_packet_view);
    if (views_bytes) memmove(base + offset, base + old_offset, views_bytes);
    hf_flow *shrunk = hf_realloc(f, offset + view_capacity * sizeof(hf_packet_view));
    if (shrunk == NULL) {
        if (views_bytes) memmove(base + old_offset, base + offset, views_bytes);
        return HF_NOMEM;
    }
    base = (uint8_t *)shrunk;
    shrunk->kept_bytes_capacity_ = byte_capacity;
    shrunk->packets_capacity_ = view_capacity;
    shrunk->kept_bytes_ = byte_capacity ? base + sizeof(hf_flow) : NULL;
    shrunk->packets = view_capacity ? (hf_packet_view *)(void *)(base + offset) : NULL;
    *flow = shrunk;
    return HF_OK;
}

/* Shrink every first block to its geometric capacities (first_block).  A shrink the allocator
 * refuses (glibc never does) leaves that block as it is, still marked and accounted. */
static void trim_first_blocks(hf_flow_table *table)
{
    for (flow_entry *entry = table->age_head; entry && table->first_block_count;
         entry = entry->age_next) {
        if (!entry->first_block) continue;
        size_t before = flow_cost(entry->flow);
        size_t views = geometric_views(&table->config, entry->flow->kept_count);
        if (flow_shrink(&entry->flow, entry->geometric_bytes, views) != HF_OK) continue;
        account_flow(table, entry->flow, before);
        entry->first_block = 0;
        table->first_block_count--;
    }
}

/* Where a kept packet can be made in place (hf_flow_packet.materialize_to): the free end of an
 * existing flow's byte buffer, if it has room for bytes_per_packet bytes -- then flow_reserve
 * keeps the byte capacity whatever the packet's length, exactly as for a copied packet, so the
 * capacities and the accounting do not depend on the form used.  NULL otherwise (a new flow,
 * not enough room, bytes_per_packet unbounded or 0). */
static uint8_t *flow_room(const hf_flow_table *table, const hf_flow *flow)
{
    size_t n = table->config.bytes_per_packet;
    if (flow == NULL || n == 0 || flow->kept_bytes_capacity_ - flow->kept_bytes_length_ < n)
        return NULL;
    return flow->kept_bytes_ + flow->kept_bytes_length_;
}

/* Count the packet and, if the flow `keeps` it (flow_keeps_next), keep `n` bytes of it (room
 * was reserved); bytes NULL: they were made in place (flow_room). */
static void flow_append(hf_flow *flow, const hf_flow_packet *packet, int keeps,
                        const uint8_t *bytes, size_t n, int direction, uint8_t flags)
{
    if (flow->packet_count == 0) {
        flow->first_timestamp_ns = packet->timestamp_ns;
        flow->first_record_index = packet->record_index;
    }
    flow->packet_count++;
    flow->byte_count += packet->frame_length;
    if (direction == 0) flow->packet_count_forward++;
    flow->last_timestamp_ns = packet->timestamp_ns;
    flow->last_record_index = packet->record_index;
    flow->tcp_flags_seen |= flags;
    if (keeps) {
        if (n && bytes) memcpy(flow->kept_bytes_ + flow->kept_bytes_length_, bytes, n);
        flow->packets[flow->kept_count].data = NULL;  /* set at completion */
        flow->packets[flow->kept_count].length = n;
        flow->kept_count++;
        flow->kept_bytes_length_ += n;
    }
}

/* ---- the table --------------------------------------------------------------------------- */

hf_status hf_flow_table_new(const hf_flow_config *config, hf_flow_table **out, hf_error *error)
{
    if (out == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "flows: NULL output pointer");
    *out = NULL;
    if (config == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "flows: NULL config");
    if (config->split_mode != HF_SPLIT_SESSION && config->split_mode != HF_SPLIT_FLOW &&
        config->split_mode != HF_SPLIT_FILE)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "flows: unknown split mode %d",
                            (int)config->split_mode);
    if (config->idle_timeout_ns < 0 || config->active_timeout_ns < 0 || config->closed_linger_ns < 0)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "flows: negative timeout");
    hf_flow_table *table = hf_calloc(1, sizeof *table);
    if (table == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "flows: out of memory");
    table->slots = hf_calloc(INITIAL_SLOT_CAPACITY, sizeof(slot));
    if (table->slots == NULL) {
        hf_free(table);
        return hf_error_set(error, HF_NOMEM, -1, -1, "flows: out of memory");
    }
    table->config = *config;
    table->hash_seed = mix64(config->hash_seed ^ 0x9e3779b97f4a7c15ULL);
    table->expiry_clock_ns = INT64_MAX;  /* every list is empty */
    size_t first_bytes, first_views;
    if (first_block_size(config, &first_bytes, &first_views)) {
        size_t room = FIRST_BLOCK_ROOM_MAX;
        if (config->max_memory_bytes != 0 && config->max_memory_bytes / 4 < room)
            room = config->max_memory_bytes / 4;
        table->first_block_max = room / (sizeof(hf_flow) + first_bytes +
                                         first_views * sizeof(hf_packet_view));
    }
    table->slot_capacity = INITIAL_SLOT_CAPACITY;
    account_add(table, sizeof *table + INITIAL_SLOT_CAPACITY * sizeof(slot));
    *out = table;
    return HF_OK;
}

static void free_flow_list(hf_flow *flow)
{
    while (flow) {
        hf_flow *next = flow->next_;
        hf_flow_free(flow);
        flow = next;
    }
}

void hf_flow_table_free(hf_flow_table *table)
{
    if (table == NULL) return;
    for (size_t i = 0; i < table->slot_capacity; i++) {
        flow_entry *entry = table->slots[i].entry;
        if (entry) {
            hf_flow_free(entry->flow);
            hf_free(entry);
        }
    }
    pool_drain(table, 0);
    free_flow_list(table->batch_head);
    free_flow_list(table->completed_head);
    hf_free(table->slots);
    hf_free(table);
}

/* Orientation of a new flow: the sender of its first packet is the client, except that the
 * sender of a SYN+ACK is the server (SESSION mode only; FLOW keys are never reversed).
 * OUT: *direction of the packet relative to the returned key. */
static hf_flow_key oriented_key(const hf_flow_table *table, const hf_flow_key *key, uint8_t flags,
                                int *direction)
{
    if (symmetric_mode(table) && (flags & (HF_TCP_SYN | HF_TCP_ACK)) == (HF_TCP_SYN | HF_TCP_ACK)) {
        *direction = 1;
        return reversed_key(key);
    }
    *direction = 0;
    return *key;
}

/* Attach a fresh flow to `entry` (new, closed or reused) and make it the youngest open flow. */
static void entry_start(hf_flow_table *table, flow_entry *entry, hf_flow *flow,
                        const hf_flow_key *key)
{
    /* The same words as the packet's packed key (canonical order), but this orientation's
     * swap flag: later packets get their direction from the two flags. */
    entry->packed = pack_key(key, symmetric_mode(table), &entry->swapped);
    entry->flow = flow;
    entry->fin_seen[0] = entry->fin_seen[1] = 0;
    entry->first_fin_direction = 0;
    entry->peer_fin = 0;
    entry->start_clock_ns = table->clock_ns;
    flow->key = *key;
    flow->creation_serial_ = table->next_serial++;
    table->stats.flows_created++;
    table->stats.open_flows++;
}

/* TCP close rules of flows.h for a packet just appended to `entry`. */
static void apply_tcp_rules(hf_flow_table *table, flow_entry *entry, int direction, uint8_t flags)
{
    int ack_only = (flags & HF_TCP_ACK) && !(flags & (HF_TCP_SYN | HF_TCP_FIN | HF_TCP_RST));
    if (table->config.split_mode == HF_SPLIT_SESSION) {
        if (flags & HF_TCP_RST) {
            entry_complete(table, entry, HF_FLOW_END_RST);
        } else if (flags & HF_TCP_FIN) {
            if (!entry->fin_seen[0] && !entry->fin_seen[1]) entry->first_fin_direction = (uint8_t)direction;
            entry->fin_seen[direction] = 1;
        } else if (entry->fin_seen[0] && entry->fin_seen[1] && ack_only &&
                   direction == entry->first_fin_direction) {
            entry_complete(table, entry, HF_FLOW_END_FIN);
        }
        return;
    }
    /* FLOW mode: the reverse direction is another entry. */
    if (!(flags & (HF_TCP_RST | HF_TCP_FIN))) {
        if (entry->fin_seen[0] && entry->peer_fin && ack_only)
            entry_complete(table, entry, HF_FLOW_END_FIN);
        return;
    }
    packed_key reverse = packed_reverse(&entry->packed);
    flow_entry *peer = table_lookup(table, &reverse, hash_packed(table->hash_seed, &reverse));
    if (peer == entry) peer = NULL;  /* a key whose endpoints are equal is its own reverse */
    if (flags & HF_TCP_RST) {
        entry_complete(table, entry, HF_FLOW_END_RST);
        if (peer && !peer->closed) entry_complete(table, peer, HF_FLOW_END_RST);
        return;
    }
    entry->fin_seen[0] = 1;
    if (peer && (peer->closed || peer->fin_seen[0])) {
        if (!peer->closed) peer->peer_fin = 1;
        entry_complete(table, entry, HF_FLOW_END_FIN);
    }
}

hf_status hf_flow_table_add(hf_flow_table *table, const hf_flow_packet *packet, hf_error *error)
{
    if (table == NULL || packet == NULL)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "flows: NULL table or packet");
    int64_t record = (int64_t)packet->record_index;
    if (packet->length > 0 && packet->bytes == NULL)
        return hf_error_set(error, HF_ARGUMENT, record, -1, "flows: NULL bytes with length %zu",
                            packet->length);
    if (packet->has_key && packet->key.family != 4 && packet->key.family != 6)
        return hf_error_set(error, HF_ARGUMENT, record, -1, "flows: key family %u is not 4 or 6",
                            (unsigned)packet->key.family);

    /* The clock only moves forward (flows.h, TIMEOUTS). */
    if (!table->clock_started || packet->timestamp_ns > table->clock_ns) {
        table->clock_ns = packet->timestamp_ns;
        table->clock_started = 1;
    }
    int file_mode = table->config.split_mode == HF_SPLIT_FILE;
    if (!file_mode) expire_timeouts(table);

    /* The key as given (pack_key ignores IPv4 address bytes 4..15), or the all-zero key. */
    static const hf_flow_key zero_key;
    const hf_flow_key *given = &zero_key;
    if (!file_mode && packet->has_key) {
        given = &packet->key;
    } else if (!file_mode && !table->config.keep_non_ip) {
        table->stats.non_ip_packets++;
        return HF_OK;
    }
    int is_tcp = given->family != 0 && given->protocol == 6;
    uint8_t flags = is_tcp ? packet->tcp_flags : 0;
    uint8_t swapped;
    packed_key packed = pack_key(given, symmetric_mode(table), &swapped);
    /* Most packets continue the most recently active flow, the idle list's tail: one key
     * compare then saves the hash and the probe. */
    flow_entry *entry = table->idle_tail;
    uint64_t hash;
    if (entry != NULL && packed_equal(&entry->packed, &packed)) {
        hash = entry->hash;
    } else {
        hash = hash_packed(table->hash_seed, &packed);
        entry = table_lookup(table, &packed, hash);
    }
    /* 0: sent by address[0] of the entry's (oriented) key; FLOW and FILE never swap. */
    int direction = entry ? swapped ^ entry->swapped : 0;

    int starts_flow = entry == NULL;
    if (entry && entry->closed) {
        if (!(flags & HF_TCP_SYN)) {
            table->stats.packets_after_close++;
            return HF_OK;
        }
        starts_flow = 1;
    } else if (entry && (flags & HF_TCP_SYN) && (entry->fin_seen[0] || entry->fin_seen[1])) {
        starts_flow = 1;  /* NEW_SYN */
    }

    /* Allocate everything first: on failure nothing below has happened. */
    hf_status failure = HF_NOMEM;
    flow_entry *created = NULL;
    int created_from_pool = 0;
    hf_flow *flow = starts_flow ? NULL : entry->flow;  /* NULL: flow_reserve creates it */
    if (entry == NULL) {
        created_from_pool = table->pool != NULL;
        created = entry_take(table);
        if (created == NULL || table_reserve_slot(table) != HF_OK) goto nomem;
    }
    const uint8_t *bytes = packet->bytes;
    size_t length = packet->length;
    int in_place = 0;
    int keeps = flow == NULL || flow_keeps_next(table, flow);  /* a new flow keeps its first */
    if (packet->materialize != NULL) {
        bytes = NULL;
        length = 0;
        if (keeps) {
            uint8_t *room = packet->materialize_to != NULL ? flow_room(table, flow) : NULL;
            if (room != NULL) {
                failure = packet->materialize_to(packet->materialize_context, room,
                                                 table->config.bytes_per_packet, &length);
                in_place = 1;
            } else {
                failure = packet->materialize(packet->materialize_context, &bytes, &length);
                if (failure == HF_OK && length > 0 && bytes == NULL) failure = HF_ARGUMENT;
            }
            if (failure != HF_OK) goto nomem;
            failure = HF_NOMEM;
        }
    }
    size_t kept = 0, cost_before = 0, geometric = 0;
    int first = 0;
    if (keeps) {
        kept = length < table->config.bytes_per_packet ? length : table->config.bytes_per_packet;
        cost_before = starts_flow ? 0 : flow_cost(flow);
        geometric = starts_flow ? 0 : entry->geometric_bytes;
        /* In place: the bytes stay where they were made even if the block moves (flow_resize
         * moves the views only). */
        if (flow_reserve(table, &flow, &geometric, kept, &first) != HF_OK) goto nomem;
        if (in_place) bytes = NULL;
        if (!starts_flow) entry->flow = flow;  /* it may have moved */
    }

    /* Commit. */
    if (starts_flow) {
        hf_flow_key key = *given;
        if (key.family == 4) {  /* flows.h: bytes 4..15 of an IPv4 address are zero */
            memset(key.address[0] + 4, 0, 12);
            memset(key.address[1] + 4, 0, 12);
        }
        hf_flow_key oriented = oriented_key(table, &key, flags, &direction);
        if (created) {
            entry = created;
            entry->hash = hash;
            slots_insert(table->slots, table->slot_capacity, entry);
            table->slot_count++;
            account_add(table, sizeof *entry);
            list_append(&table->idle_head, &table->idle_tail, entry);
            list_deadline(table, table->config.idle_timeout_ns);
        } else if (entry->closed) {
            list_unlink(&table->closed_head, &table->closed_tail, entry);
            list_append(&table->idle_head, &table->idle_tail, entry);
            list_deadline(table, table->config.idle_timeout_ns);
            entry->closed = 0;
        } else {
            entry_complete(table, entry, HF_FLOW_END_NEW_SYN);
            age_unlink(table, entry);
        }
        age_append(table, entry);
        list_deadline(table, table->config.active_timeout_ns);
        entry_start(table, entry, flow, &oriented);
        entry->first_block = (uint8_t)first;  /* the previous flow's is cleared (entry_complete) */
        table->first_block_count += (size_t)first;
    }
    flow_append(flow, packet, keeps, bytes, kept, direction, flags);
    if (keeps) {
        entry->geometric_bytes = geometric;
        account_flow(table, flow, cost_before);
    }
    table->stats.packets_added++;
    entry->activity_clock_ns = table->clock_ns;
    if (entry != table->idle_tail) {  /* most packets continue the latest flow */
        /* The list holds other entries, so this is no empty list's first (expiry_clock_ns). */
        list_unlink(&table->idle_head, &table->idle_tail, entry);
        list_append(&table->idle_head, &table->idle_tail, entry);
    }
    if (is_tcp && !file_mode) apply_tcp_rules(table, entry, direction, flags);
    flush_batch(table);
    if (keeps) evict_over_limit(table);  /* otherwise the memory held has not grown */
    return HF_OK;

nomem:
    if (starts_flow) hf_flow_free(flow);  /* an existing flow is unchanged (flow_resize) */
    if (created && created_from_pool) entry_release(table, created);  /* the table unchanged */
    else hf_free(created);
    if (failure != HF_NOMEM)
        return hf_error_set(error, failure, record, -1, "flows: the packet's bytes could not be made");
    return hf_error_set(error, HF_NOMEM, record, -1, "flows: out of memory");
}

hf_status hf_flow_table_pop(hf_flow_table *table, hf_flow **out)
{
    if (out == NULL) return HF_ARGUMENT;
    *out = NULL;
    if (table == NULL) return HF_ARGUMENT;
    hf_flow *flow = table->completed_head;
    if (flow == NULL) return HF_EOF;
    table->completed_head = flow->next_;
    if (table->completed_head == NULL) table->completed_tail = NULL;
    flow->next_ = NULL;
    *out = flow;
    return HF_OK;
}

void hf_flow_table_finish(hf_flow_table *table)
{
    if (table == NULL) return;
    while (table->age_head) entry_complete(table, table->age_head, HF_FLOW_END_INPUT);
    flush_batch(table);
    while (table->closed_head) entry_remove(table, table->closed_head);
    pool_drain(table, 0);
}

void hf_flow_table_stats(const hf_flow_table *table, hf_flow_stats *out)
{
    if (out == NULL) return;
    if (table == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = table->stats;
}

/* ---- keys from the dissector ------------------------------------------------------------- */

static uint8_t protocol_of_layer(uint8_t kind)
{
    switch (kind) {
    case HF_LAYER_ICMP: return 1;
    case HF_LAYER_IPV4: return 4;
    case HF_LAYER_TCP: return 6;
    case HF_LAYER_UDP: return 17;
    case HF_LAYER_IPV6: return 41;
    case HF_LAYER_GRE: return 47;
    case HF_LAYER_ICMPV6: return 58;
    default: return 0;
    }
}

/* Copy the `length`-byte address at `offset` of the cursor's bytes; 0 if they do not reach. */
static inline int read_address(const hf_cursor *bytes, size_t offset, size_t length, uint8_t *out)
{
    hf_cursor c = *bytes;
    return hf_skip(&c, offset) == HF_OK && hf_read_copy(&c, length, out) == HF_OK;
}

hf_status hf_flow_key_from_dissection(const uint8_t *frame,
                                      size_t caplen,
                                      const hf_dissection *dissection,
                                      hf_flow_packet *packet)
{
    if (dissection == NULL || packet == NULL || (frame == NULL && caplen > 0)) return HF_ARGUMENT;
    memset(&packet->key, 0, sizeof packet->key);
    packet->has_key = 0;
    packet->tcp_flags = 0;

    const uint8_t version = dissection->network.version;
    int network_index = version == 4 ? dissection->first_ipv4
                      : version == 6 ? dissection->first_ipv6 : HF_NO_LAYER;
    size_t address_length = version == 4 ? 4 : 16;
    if (network_index < 0 || network_index >= dissection->layer_count ||
        dissection->network.address_length != address_length)
        return HF_OK;  /* not IP, or the addresses were not captured */

    /* Addresses through the bounded cursor: the dissection's offsets are trusted only as far
     * as the frame reaches.  The fields are written in place, each with its own size: a key
     * built on the stack and copied out as a whole made the copy's wide loads wait for the
     * narrow stores (store forwarding fails), on every packet. */
    hf_flow_key *key = &packet->key;
    hf_cursor cursor = hf_cursor_make(frame, caplen);
    size_t source_offset = dissection->network.source_offset;
    size_t destination_offset = dissection->network.destination_offset;
    /* Each length with its own constant-size copies (a variable-length memcpy is a call). */
    int copied = version == 4
        ? read_address(&cursor, source_offset, 4, key->address[0]) &&
          read_address(&cursor, destination_offset, 4, key->address[1])
        : read_address(&cursor, source_offset, 16, key->address[0]) &&
          read_address(&cursor, destination_offset, 16, key->address[1]);
    if (!copied) {
        memset(key, 0, sizeof *key);  /* a non-IP key is all zero */
        return HF_OK;
    }
    key->family = version;
    key->protocol = dissection->network.protocol;

    int fragment = dissection->network.fragment_offset != 0 || dissection->network.more_fragments;
    if (!fragment) {
        /* The layer after the IP header and its extension headers. */
        int next = network_index + 1;
        while (next < dissection->layer_count && dissection->layers[next].kind == HF_LAYER_IPV6_EXTENSION)
            next++;
        if (next < dissection->layer_count) {
            const hf_layer *layer = &dissection->layers[next];
            uint8_t next_protocol = protocol_of_layer(layer->kind);
            if (next_protocol != 0) key->protocol = next_protocol;
            int is_transport = (layer->kind == HF_LAYER_TCP && dissection->transport.protocol == 6 &&
                                dissection->first_tcp == next) ||
                               (layer->kind == HF_LAYER_UDP && dissection->transport.protocol == 17 &&
                                dissection->first_udp == next);
            if (is_transport && layer->length >= 4) {
                key->port[0] = dissection->transport.source_port;
                key->port[1] = dissection->transport.destination_port;
                /* A TCP header cut before its flags byte: the dissector reports scapy's default
                 * "S"; for flow state an uncaptured flag must not count as a SYN. */
                if (layer->kind == HF_LAYER_TCP && layer->length >= 14)
                    packet->tcp_flags = (uint8_t)(dissection->transport.tcp_flags & 0xff);
            }
        }
    }
    packet->has_key = 1;
    return HF_OK;
}

/* The transport header at [offset, end) of the IP payload, as dissect_tcp / dissect_udp read it
 * when it is complete: 1 and the ports (and TCP flags) in *packet; 0 when it is not TCP/UDP or
 * is cut short (the dissection then decides). */
static int transport_ports(const hf_cursor *frame, uint8_t protocol, size_t offset, size_t end,
                           hf_flow_packet *packet)
{
    uint16_t source = 0, destination = 0;
    uint8_t flags = 0;
    if (protocol == 6) {
        if (end - offset < 20 || hf_peek_u8(frame, offset + 13, &flags) != HF_OK) return 0;
    } else if (protocol == 17) {
        if (end - offset < 8) return 0;
    } else {
        return 0;
    }
    if (hf_peek_be16(frame, offset, &source) != HF_OK ||
        hf_peek_be16(frame, offset + 2, &destination) != HF_OK)
        return 0;
    packet->key.port[0] = source;
    packet->key.port[1] = destination;
    packet->tcp_flags = flags;
    return 1;
}

int hf_flow_key_from_frame(const uint8_t *frame, size_t caplen, uint32_t linktype,
                           hf_flow_packet *packet)
{
    enum { IP = 14 };   /* the IP header's offset after the Ethernet header */
    uint16_t ethertype = 0;
    hf_cursor c = hf_cursor_make(frame, caplen);
    if (frame == NULL || linktype != HF_LINKTYPE_ETHERNET ||
        hf_peek_be16(&c, 12, &ethertype) != HF_OK)
        return 0;
    hf_flow_key *key = &packet->key;
    memset(key, 0, sizeof *key);
    packet->tcp_flags = 0;
    packet->has_key = 1;
    if (ethertype == 0x0800) {
        /* dissect_ipv4 with a complete header: 20 bytes or more, options captured (ihl < 5 and
         * options cut short are left to the dissection). */
        uint8_t version_ihl = 0, protocol = 0;
        uint16_t total_length = 0, fragment = 0;
        if (caplen < IP + 20 || hf_peek_u8(&c, IP, &version_ihl) != HF_OK ||
            hf_peek_be16(&c, IP + 2, &total_length) != HF_OK ||
            hf_peek_be16(&c, IP + 6, &fragment) != HF_OK ||
            hf_peek_u8(&c, IP + 9, &protocol) != HF_OK ||
            !read_address(&c, IP + 12, 4, key->address[0]) ||
            !read_address(&c, IP + 16, 4, key->address[1]))
            return 0;
        size_t header_length = (size_t)(version_ihl & 15) * 4;
        if (header_length < 20 || header_length > caplen - IP) return 0;
        key->family = 4;
        key->protocol = protocol;
        if ((fragment & 0x1fff) != 0 || (fragment & 0x2000) != 0) return 1;  /* a fragment */
        /* IP.extract_padding: the payload ends at total_length when that is shorter. */
        size_t start = IP + header_length, end = caplen;
        if (total_length >= header_length && (size_t)total_length - header_length < end - start)
            end = start + ((size_t)total_length - header_length);
        return start < end && transport_ports(&c, protocol, start, end, packet);
    }
    if (ethertype == 0x86dd) {
        /* dissect_ipv6 with a complete fixed header; TCP/UDP directly after it (an extension
         * header, and so the jumbo-payload case, are left to the dissection). */
        uint8_t next_header = 0;
        uint16_t payload_length = 0;
        if (caplen < IP + 40 || hf_peek_be16(&c, IP + 4, &payload_length) != HF_OK ||
            hf_peek_u8(&c, IP + 6, &next_header) != HF_OK ||
            !read_address(&c, IP + 8, 16, key->address[0]) ||
            !read_address(&c, IP + 24, 16, key->address[1]))
            return 0;
        key->family = 6;
        key->protocol = next_header;
        size_t start = IP + 40, end = caplen;
        if ((size_t)payload_length < end - start) end = start + payload_length;
        /* UDP to a tunnel (VXLAN, L2TP) may carry an IPv4 header, which gives the key behind an
         * outer IPv6 one (§P4, IPv4 wins; fuzz_dissect found it): the dissection decides.  (Behind
         * an outer IPv4 header the outer one is the first and gives the key.) */
        return start < end && transport_ports(&c, next_header, start, end, packet) &&
               !(next_header == 17 &&
                 hf_dissect_udp_ports_tunnel(packet->key.port[0], packet->key.port[1]));
    }
    return 0;
}
