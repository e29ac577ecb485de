/* Shared by the C examples: build a channel configured exactly as an agent is, from the
 * environment (SW_AGENT_* variables and SWTLS_CA_DIR). */
#ifndef SWTLS_EXAMPLE_COMMON_H
#define SWTLS_EXAMPLE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swtls.h"

/* The SkyWalking messages of the C examples are encoded here by hand, unlike the other
 * languages' examples, which use the protocol's generated code: C has none at hand. The
 * SkyWalking protocol project publishes no generated C, and generating it (protobuf-c)
 * would need protoc with the protoc-c plugin at build time and libprotobuf-c at run
 * time, for messages that are a few string fields. */

/* Appends one length-delimited protobuf field (wire type 2) holding the string s: the key
 * (field << 3 | 2), the length as a varint, the bytes. buf must have room for
 * strlen(s) + 11 more bytes. Returns the new length. */
static inline size_t put_string(uint8_t *buf, size_t at, uint8_t field, const char *s) {
    size_t len = strlen(s), n = len;
    buf[at++] = (uint8_t)(field << 3 | 2);
    do {
        uint8_t b = n & 0x7f;
        n >>= 7;
        buf[at++] = n ? (uint8_t)(b | 0x80) : b;
    } while (n);
    memcpy(buf + at, s, len);
    return at + len;
}

/* Prints "STATUS_NAME: message" for a failed call and exits 1. */
static void die(const char *what, swtls_status status) {
    fprintf(stdout, "%s: %s\n", swtls_status_name((uint32_t)status), swtls_last_error());
    fprintf(stderr, "%s failed\n", what);
    exit(1);
}

static swtls_channel *channel_from_env(void) {
    swtls_config *config = NULL;
    swtls_channel *channel = NULL;
    swtls_status st = swtls_config_new(&config);
    if (st != SWTLS_STATUS_OK) die("swtls_config_new", st);
    st = swtls_config_load_env(config);
    if (st != SWTLS_STATUS_OK) die("swtls_config_load_env", st);
    st = swtls_channel_new(config, &channel);
    swtls_config_free(config);
    if (st != SWTLS_STATUS_OK) die("swtls_channel_new", st);
    fprintf(stderr, "%s; %s\n", swtls_version(), swtls_channel_tls_reason(channel));
    return channel;
}

/* The TLS mode's name, as swtls_channel_tls_reason spells it. */
static inline const char *tls_mode_name(swtls_tls_mode mode) {
    switch (mode) {
    case SWTLS_TLS_MODE_PLAINTEXT: return "plaintext";
    case SWTLS_TLS_MODE_TLS: return "tls";
    case SWTLS_TLS_MODE_MUTUAL_TLS: return "mutual-tls";
    case SWTLS_TLS_MODE_TLS_SYSTEM_ROOTS: return "tls-system-roots";
    case SWTLS_TLS_MODE_MUTUAL_TLS_SYSTEM_ROOTS: return "mutual-tls-system-roots";
    }
    return "unknown";
}

/* Prints the reporter's counters on one line: "queued=N sent=N ... tls_mode=NAME". */
static inline void print_stats(FILE *out, const swtls_stats *s) {
    fprintf(out,
            "queued=%llu sent=%llu acknowledged=%llu pending=%llu dropped_queue_full=%llu "
            "dropped_closed=%llu dropped_server_error=%llu failed_streams=%llu reconnects=%llu "
            "connect_failures=%llu backend_switches=%llu bytes_sent=%llu queued_bytes=%llu "
            "backend=%s tls_mode=%s\n",
            (unsigned long long)s->queued, (unsigned long long)s->sent,
            (unsigned long long)s->acknowledged, (unsigned long long)s->pending,
            (unsigned long long)s->dropped_queue_full, (unsigned long long)s->dropped_closed,
            (unsigned long long)s->dropped_server_error, (unsigned long long)s->failed_streams,
            (unsigned long long)s->reconnects, (unsigned long long)s->connect_failures,
            (unsigned long long)s->backend_switches, (unsigned long long)s->bytes_sent,
            (unsigned long long)s->queued_bytes, s->backend, tls_mode_name(s->tls_mode));
}

#endif
