/* bench UNARY_CALLS STREAM_MESSAGES MESSAGE_SIZE
 *
 * Measures the swtls C API against a collector (mutual TLS on loopback in bench/run.sh),
 * with the channel configured from the environment exactly as the examples are
 * (SW_AGENT_* variables and SWTLS_CA_DIR):
 *
 *   1. unary: after a warm-up, UNARY_CALLS sequential keepAlive calls
 *      (/skywalking.v3.ManagementService/keepAlive with an encoded InstancePingPkg);
 *      latency percentiles and calls/s.
 *   2. streaming: one client stream on /swtls.test.Echo/collect sending STREAM_MESSAGES
 *      messages of MESSAGE_SIZE bytes; the collector answers "COUNT BYTES", which must
 *      equal what was sent. Messages/s, MB/s, MiB/s and per-send caller latency.
 *   3. peak RSS of this process (getrusage ru_maxrss).
 *
 * Prints readable lines, then one final JSON line (flat, numbers only) for scripts.
 * Exits 1 with the status name and swtls_last_error() if any call fails. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "swtls.h"

#define KEEPALIVE "/skywalking.v3.ManagementService/keepAlive"
#define ECHO_COLLECT "/swtls.test.Echo/collect"
/* Unary calls made before measuring (the first one also connects and handshakes). */
#define UNARY_WARMUP 500
/* Messages of the warm-up stream sent before the measured one. */
#define STREAM_WARMUP 2000
/* Deadline of each stream: generous, so that a slow run is measured rather than cut. */
#define STREAM_TIMEOUT_MS 600000u

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what, swtls_status status) {
    fprintf(stderr, "bench: %s failed: %s: %s\n", what, swtls_status_name((uint32_t)status),
            swtls_last_error());
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static unsigned long parse_count(const char *text, const char *what) {
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (*text == '\0' || *text == '-' || *end != '\0') {
        fprintf(stderr, "bench: %s must be a non-negative number, not '%s'\n", what, text);
        exit(2);
    }
    return v;
}

/* Appends one length-delimited protobuf field (wire type 2). */
static size_t put_bytes(uint8_t *buf, size_t at, uint8_t field, const char *s) {
    size_t len = strlen(s);
    size_t n = len;
    buf[at++] = (uint8_t)(field << 3 | 2);
    do {
        uint8_t b = n & 0x7f;
        n >>= 7;
        buf[at++] = n ? (uint8_t)(b | 0x80) : b;
    } while (n);
    memcpy(buf + at, s, len);
    return at + len;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in microseconds. */
static double pct_us(const uint64_t *sorted, size_t n, double p) {
    if (n == 0) return 0.0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return (double)sorted[rank - 1] / 1000.0;
}

/* One keepAlive call; returns its duration in ns. */
static uint64_t keepalive(const swtls_channel *channel, const uint8_t *ping, size_t ping_len) {
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    uint64_t t0 = now_ns();
    swtls_status st = swtls_channel_unary(channel, KEEPALIVE, ping, ping_len, 0, &resp, &resp_len);
    uint64_t t1 = now_ns();
    if (st != SWTLS_STATUS_OK) fail("keepAlive", st);
    swtls_bytes_free(resp, resp_len);
    return t1 - t0;
}

/* Streams `count` messages of `msg_len` bytes on Echo/collect and checks the answer.
 * When `send_ns` is not NULL it receives each send's duration. Returns the time from
 * opening the stream to the end of finish (the answer received), in ns; `*sends_done_ns`
 * gets the time from opening to the return of the last send. */
static uint64_t stream_run(const swtls_channel *channel, const uint8_t *msg, size_t msg_len,
                           size_t count, uint64_t *send_ns, uint64_t *sends_done_ns) {
    swtls_stream *stream = NULL;
    uint64_t t0 = now_ns();
    swtls_status st = swtls_channel_stream_open(channel, ECHO_COLLECT, STREAM_TIMEOUT_MS, &stream);
    if (st != SWTLS_STATUS_OK) fail("swtls_channel_stream_open", st);
    for (size_t i = 0; i < count; i++) {
        uint64_t a = now_ns();
        st = swtls_stream_send(stream, msg, msg_len);
        uint64_t b = now_ns();
        if (st != SWTLS_STATUS_OK) {
            fprintf(stderr, "bench: send %zu of %zu\n", i + 1, count);
            fail("swtls_stream_send", st);
        }
        if (send_ns) send_ns[i] = b - a;
    }
    uint64_t t_sent = now_ns();
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    st = swtls_stream_finish(stream, &resp, &resp_len);
    uint64_t t1 = now_ns();
    if (st != SWTLS_STATUS_OK) fail("swtls_stream_finish", st);
    swtls_stream_free(stream);

    char expected[64], got[64];
    snprintf(expected, sizeof expected, "%zu %zu", count, count * msg_len);
    size_t n = resp_len < sizeof got - 1 ? resp_len : sizeof got - 1;
    memcpy(got, resp, n);
    got[n] = '\0';
    swtls_bytes_free(resp, resp_len);
    if (resp_len != strlen(expected) || strcmp(got, expected) != 0) {
        fprintf(stderr, "bench: the collector counted \"%s\" (%zu bytes of answer), expected \"%s\"\n",
                got, resp_len, expected);
        exit(1);
    }
    if (sends_done_ns) *sends_done_ns = t_sent - t0;
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s UNARY_CALLS STREAM_MESSAGES MESSAGE_SIZE\n", argv[0]);
        return 2;
    }
    size_t unary_calls = parse_count(argv[1], "UNARY_CALLS");
    size_t stream_msgs = parse_count(argv[2], "STREAM_MESSAGES");
    size_t msg_size = parse_count(argv[3], "MESSAGE_SIZE");
    if (msg_size > 4u * 1024 * 1024) {
        fprintf(stderr, "bench: MESSAGE_SIZE above 4 MiB is not supported\n");
        return 2;
    }

    swtls_config *config = NULL;
    swtls_channel *channel = NULL;
    swtls_status st = swtls_config_new(&config);
    if (st != SWTLS_STATUS_OK) fail("swtls_config_new", st);
    st = swtls_config_load_env(config);
    if (st != SWTLS_STATUS_OK) fail("swtls_config_load_env", st);
    st = swtls_channel_new(config, &channel);
    swtls_config_free(config);
    if (st != SWTLS_STATUS_OK) fail("swtls_channel_new", st);
    swtls_tls_mode mode;
    st = swtls_channel_tls_mode(channel, &mode);
    if (st != SWTLS_STATUS_OK) fail("swtls_channel_tls_mode", st);
    printf("library: %s\n", swtls_version());
    printf("channel: %s\n", swtls_channel_tls_reason(channel));
    if (mode != SWTLS_TLS_MODE_MUTUAL_TLS && mode != SWTLS_TLS_MODE_MUTUAL_TLS_SYSTEM_ROOTS) {
        fprintf(stderr, "bench: warning: the channel is not mutual TLS (mode %d)\n", (int)mode);
    }

    /* 1. Unary keepAlive. */
    uint8_t ping[256];
    size_t ping_len = put_bytes(ping, 0, 1, "swtls-bench");
    ping_len = put_bytes(ping, ping_len, 2, "bench-instance-1@127.0.0.1");
    ping_len = put_bytes(ping, ping_len, 3, "GENERAL");

    uint64_t first_ns = keepalive(channel, ping, ping_len); /* connects + mTLS handshake */
    for (int i = 1; i < UNARY_WARMUP; i++) keepalive(channel, ping, ping_len);

    uint64_t *lat = xmalloc(unary_calls * sizeof *lat);
    uint64_t u0 = now_ns();
    for (size_t i = 0; i < unary_calls; i++) lat[i] = keepalive(channel, ping, ping_len);
    uint64_t unary_ns = now_ns() - u0;
    qsort(lat, unary_calls, sizeof *lat, cmp_u64);
    double u_p50 = pct_us(lat, unary_calls, 50), u_p90 = pct_us(lat, unary_calls, 90);
    double u_p99 = pct_us(lat, unary_calls, 99), u_max = pct_us(lat, unary_calls, 100);
    double u_rate = unary_ns ? (double)unary_calls / ((double)unary_ns / 1e9) : 0.0;
    free(lat);

    printf("unary keepAlive: first call (connect + handshake) %.1f us; warm-up %d calls\n",
           (double)first_ns / 1000.0, UNARY_WARMUP);
    printf("unary keepAlive: %zu calls (%zu-byte InstancePingPkg) in %.3f s: %.0f calls/s\n", unary_calls,
           ping_len, (double)unary_ns / 1e9, u_rate);
    printf("unary keepAlive latency us: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", u_p50, u_p90, u_p99,
           u_max);

    /* 2. Client streaming. */
    uint8_t *msg = xmalloc(msg_size);
    for (size_t i = 0; i < msg_size; i++) msg[i] = (uint8_t)('a' + i % 26);
    size_t warm = stream_msgs < STREAM_WARMUP ? stream_msgs : STREAM_WARMUP;
    stream_run(channel, msg, msg_size, warm, NULL, NULL);

    uint64_t *send_ns = xmalloc(stream_msgs * sizeof *send_ns);
    uint64_t sends_done_ns = 0;
    uint64_t stream_ns = stream_run(channel, msg, msg_size, stream_msgs, send_ns, &sends_done_ns);
    qsort(send_ns, stream_msgs, sizeof *send_ns, cmp_u64);
    double s_p50 = pct_us(send_ns, stream_msgs, 50), s_p99 = pct_us(send_ns, stream_msgs, 99);
    double s_max = pct_us(send_ns, stream_msgs, 100);
    free(send_ns);
    free(msg);
    double secs = (double)stream_ns / 1e9;
    double bytes = (double)stream_msgs * (double)msg_size;
    double s_rate = secs > 0 ? (double)stream_msgs / secs : 0.0;
    double s_mb = secs > 0 ? bytes / 1e6 / secs : 0.0;
    double s_mib = secs > 0 ? bytes / 1048576.0 / secs : 0.0;

    printf("stream Echo/collect: warm-up stream of %zu messages\n", warm);
    printf("stream Echo/collect: %zu messages x %zu bytes in %.3f s (open to answer; last send "
           "returned at %.3f s), collector counted the same\n",
           stream_msgs, msg_size, secs, (double)sends_done_ns / 1e9);
    printf("stream Echo/collect: %.0f msgs/s, %.1f MB/s (%.1f MiB/s)\n", s_rate, s_mb, s_mib);
    printf("stream send latency us: p50 %.2f  p99 %.2f  max %.1f\n", s_p50, s_p99, s_max);

    swtls_channel_free(channel);

    /* 3. Peak RSS (Linux: kilobytes). */
    struct rusage ru;
    long rss_kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
    printf("peak RSS: %ld KiB (%.1f MiB)\n", rss_kib, (double)rss_kib / 1024.0);

    printf("{\"unary_calls\":%zu,\"unary_first_us\":%.1f,\"unary_p50_us\":%.1f,\"unary_p90_us\":%.1f,"
           "\"unary_p99_us\":%.1f,\"unary_max_us\":%.1f,\"unary_calls_per_s\":%.0f,"
           "\"stream_messages\":%zu,\"message_size\":%zu,\"stream_s\":%.3f,\"stream_msgs_per_s\":%.0f,"
           "\"stream_mb_per_s\":%.2f,\"stream_mib_per_s\":%.2f,\"send_p50_us\":%.2f,"
           "\"send_p99_us\":%.2f,\"send_max_us\":%.1f,\"peak_rss_kib\":%ld}\n",
           unary_calls, (double)first_ns / 1000.0, u_p50, u_p90, u_p99, u_max, u_rate, stream_msgs,
           msg_size, secs, s_rate, s_mb, s_mib, s_p50, s_p99, s_max, rss_kib);
    return 0;
}
