/*
 * filter.c -- BPF filters through libpcap (see filter.h).
 */
/* libpcap's headers use the BSD types u_int/u_char, which strict C11 hides. */
#define _DEFAULT_SOURCE
#include "filter.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

typedef struct compiled_program {
    uint32_t linktype;
    int usable;                 /* 0: the expression does not compile for this link type */
    struct bpf_program program; /* owned (pcap_freecode) when usable */
} compiled_program;

struct hf_filter {
    char *expression;           /* owned */
    size_t n_programs;
    compiled_program programs[HF_FILTER_MAX_LINKTYPES];
    char last_error[PCAP_ERRBUF_SIZE + 64];
};

/* pcap_open_dead takes a DLT_ value; files carry LINKTYPE_ values.  They are equal except for a
 * few historical ones below 104 (pcap-linktype(7); libpcap's own mapping is not exported). */
static int dlt_of_linktype(uint32_t linktype)
{
    switch (linktype) {
    case 100: return DLT_ATM_RFC1483;
    case 101: return DLT_RAW;
    case 102: return DLT_SLIP_BSDOS;
    case 103: return DLT_PPP_BSDOS;
    default: return (int)linktype;
    }
}

/* Compile for one link type; on failure copy libpcap's message into `message`. */
static int compile_for(const char *expression, uint32_t linktype, struct bpf_program *program,
                       char *message, size_t message_size)
{
    /* 262144: libpcap's maximum snapshot length; only used for the "len" checks BPF may emit */
    pcap_t *dead = pcap_open_dead(dlt_of_linktype(linktype), 262144);
    if (dead == NULL) {
        snprintf(message, message_size, "libpcap cannot open a handle for link type %u", linktype);
        return -1;
    }
    int rc = pcap_compile(dead, program, expression, 1, PCAP_NETMASK_UNKNOWN);
    if (rc != 0) snprintf(message, message_size, "%s", pcap_geterr(dead));
    pcap_close(dead);
    return rc == 0 ? 0 : -1;
}

static compiled_program *program_for(hf_filter *filter, uint32_t linktype, hf_error *error,
                                     hf_status *status)
{
    *status = HF_OK;
    for (size_t i = 0; i < filter->n_programs; i++)
        if (filter->programs[i].linktype == linktype) return &filter->programs[i];
    if (filter->n_programs == HF_FILTER_MAX_LINKTYPES) {
        *status = hf_error_set(error, HF_LIMIT, -1, -1,
                               "more than %d link types in one capture", HF_FILTER_MAX_LINKTYPES);
        return NULL;
    }
    compiled_program *p = &filter->programs[filter->n_programs];
    p->linktype = linktype;
    p->usable = compile_for(filter->expression, linktype, &p->program, filter->last_error,
                            sizeof filter->last_error) == 0;
    filter->n_programs++;
    return p;
}

hf_status hf_filter_new(const char *expression, hf_filter **out, hf_error *error)
{
    *out = NULL;
    if (expression == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "no filter expression");
    hf_filter *filter = hf_calloc(1, sizeof *filter);
    if (filter == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory");
    size_t length = strlen(expression);
    filter->expression = hf_malloc(length + 1);
    if (filter->expression == NULL) {
        hf_free(filter);
        return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory");
    }
    memcpy(filter->expression, expression, length + 1);
    hf_status status;
    compiled_program *ethernet = program_for(filter, 1, error, &status);
    if (ethernet == NULL || !ethernet->usable) {
        hf_error_set(error, HF_ARGUMENT, -1, -1, "invalid BPF filter \"%s\": %s", expression,
                     filter->last_error);
        hf_filter_free(filter);
        return HF_ARGUMENT;
    }
    *out = filter;
    return HF_OK;
}

hf_status hf_filter_match(hf_filter *filter, uint32_t linktype, const uint8_t *data,
                          uint32_t caplen, uint32_t wirelen, int *matches, hf_error *error)
{
    *matches = 0;
    hf_status status;
    compiled_program *p = program_for(filter, linktype, error, &status);
    if (p == NULL) return status;
    if (!p->usable)
        return hf_error_set(error, HF_UNSUPPORTED, -1, -1,
                            "BPF filter \"%s\" does not apply to link type %u: %s",
                            filter->expression, linktype, filter->last_error);
    struct pcap_pkthdr header;
    memset(&header, 0, sizeof header);
    header.caplen = caplen;
    header.len = wirelen < caplen ? caplen : wirelen;
    static const uint8_t empty[1] = {0};
    *matches = pcap_offline_filter(&p->program, &header, data ? data : empty) != 0;
    return HF_OK;
}

void hf_filter_free(hf_filter *filter)
{
    if (filter == NULL) return;
    for (size_t i = 0; i < filter->n_programs; i++)
        if (filter->programs[i].usable) pcap_freecode(&filter->programs[i].program);
    hf_free(filter->expression);
    hf_free(filter);
}
