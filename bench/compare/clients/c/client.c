/* swtls-c: the side-by-side benchmark client for the C API (bench/compare/CLIENTS.md).
 *
 *   swtls-c --workload stream|unary|first|idle --target HOST:PORT --certs DIR
 *           --messages N --size BYTES --warmup N --calls N --idle-seconds S --samples FILE
 *
 * Uses only swtls.h: a channel configured with the agent's ca folder (DIR: ca.crt,
 * client.crt, client.pem, so mutual TLS) and the backend address; unary keepAlive calls
 * and client streams on /swtls.test.Echo/collect. Prints one line "RESULT {json}" and
 * writes the per-operation durations to FILE (little-endian u64 ns). Exit 1 on failure. */
#define _GNU_SOURCE

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "swtls.h"

#define KEEPALIVE "/skywalking.v3.ManagementService/keepAlive"
#define ECHO_COLLECT "/swtls.test.Echo/collect"
#define UNARY_TIMEOUT_MS 30000u
#define STREAM_TIMEOUT_MS 600000u
/* InstancePingPkg{service: "bench", serviceInstance: "bench-1"} */
static const uint8_t PING[] = {0x0a, 0x05, 'b', 'e', 'n', 'c', 'h', 0x12, 0x07, 'b', 'e', 'n', 'c', 'h', '-', '1'};

static const char *workload;

static uint64_t now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* User + system CPU of the whole process (all threads), in seconds. */
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void die(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "swtls-c: %s failed: ", workload ? workload : "setup");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    exit(1);
}

static void check(swtls_status st, const char *what) {
    if (st != SWTLS_STATUS_OK) die("%s: %s", what, swtls_status_name((uint32_t)st));
}

static void check_call(swtls_status st, const char *what) {
    if (st != SWTLS_STATUS_OK) {
        fprintf(stderr, "swtls-c: %s failed: %s: %s: %s\n", workload, what, swtls_status_name((uint32_t)st),
                swtls_last_error());
        exit(1);
    }
}

static uint64_t number(const char *flag, const char *text) {
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (*text == '\0' || *text == '-' || *end != '\0') die("%s: '%s' is not a non-negative integer", flag, text);
    return (uint64_t)v;
}

static void keepalive(const swtls_channel *ch) {
    uint8_t *resp = NULL;
    size_t len = 0;
    check_call(swtls_channel_unary(ch, KEEPALIVE, PING, sizeof PING, UNARY_TIMEOUT_MS, &resp, &len), "keepAlive");
    swtls_bytes_free(resp, len);
}

/* One stream of `count` messages; each send timed into `send_ns` when not NULL. Checks the
 * sink's "MESSAGES BYTES" answer against what was sent. */
static void stream(const swtls_channel *ch, const uint8_t *msg, size_t size, uint64_t count, uint64_t *send_ns) {
    swtls_stream *s = NULL;
    check_call(swtls_channel_stream_open(ch, ECHO_COLLECT, STREAM_TIMEOUT_MS, &s), "stream open");
    for (uint64_t i = 0; i < count; i++) {
        uint64_t a = now_ns(CLOCK_MONOTONIC);
        swtls_status st = swtls_stream_send(s, msg, size);
        uint64_t b = now_ns(CLOCK_MONOTONIC);
        check_call(st, "stream send");
        if (send_ns) send_ns[i] = b - a;
    }
    uint8_t *resp = NULL;
    size_t len = 0;
    check_call(swtls_stream_finish(s, &resp, &len), "stream finish");
    swtls_stream_free(s);
    char expected[64], got[64];
    snprintf(expected, sizeof expected, "%" PRIu64 " %" PRIu64, count, count * (uint64_t)size);
    size_t n = len < sizeof got - 1 ? len : sizeof got - 1;
    memcpy(got, resp, n);
    got[n] = '\0';
    swtls_bytes_free(resp, len);
    if (strcmp(got, expected) != 0) die("the sink counted \"%s\", expected \"%s\"", got, expected);
}

static void write_samples(const char *path, const uint64_t *ns, uint64_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) die("opening %s%s", path, "");
    for (uint64_t i = 0; i < n; i++) {
        uint8_t le[8];
        for (int b = 0; b < 8; b++) le[b] = (uint8_t)(ns[i] >> (8 * b));
        if (fwrite(le, 1, 8, f) != 8) die("writing %s%s", path, "");
    }
    if (fclose(f) != 0) die("writing %s%s", path, "");
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

static uint64_t *alloc_samples(uint64_t n) {
    uint64_t *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    if (!p) die("allocating %s%s", "samples", "");
    return p;
}

int main(int argc, char **argv) {
    uint64_t t_start = now_ns(CLOCK_MONOTONIC);
    const char *target = NULL, *certs = NULL, *samples = NULL;
    uint64_t messages = 0, size = 0, warmup = 0, calls = 0, idle = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *f = argv[i], *v = argv[i + 1];
        if (!strcmp(f, "--workload")) workload = v;
        else if (!strcmp(f, "--target")) target = v;
        else if (!strcmp(f, "--certs")) certs = v;
        else if (!strcmp(f, "--samples")) samples = v;
        else if (!strcmp(f, "--messages")) messages = number(f, v);
        else if (!strcmp(f, "--size")) size = number(f, v);
        else if (!strcmp(f, "--warmup")) warmup = number(f, v);
        else if (!strcmp(f, "--calls")) calls = number(f, v);
        else if (!strcmp(f, "--idle-seconds")) idle = number(f, v);
        else die("unknown flag %s%s (see bench/compare/CLIENTS.md)", f, "");
    }
    if (argc % 2 == 0) die("flag %s%s has no value", argv[argc - 1], "");
    if (!workload || !target || !certs || !samples) die("%s%s", "--workload, --target, --certs and --samples are required", "");

    swtls_config *config = NULL;
    swtls_channel *ch = NULL;
    check(swtls_config_new(&config), "swtls_config_new");
    check_call(swtls_config_set(config, "collector.backend_service", target), "collector.backend_service");
    check_call(swtls_config_set(config, "agent.ca_dir", certs), "agent.ca_dir");
    check_call(swtls_channel_new(config, &ch), "swtls_channel_new");
    swtls_config_free(config);
    swtls_tls_mode mode;
    check(swtls_channel_tls_mode(ch, &mode), "swtls_channel_tls_mode");
    if (mode != SWTLS_TLS_MODE_MUTUAL_TLS) die("the channel is not mutual TLS: %s%s", swtls_channel_tls_reason(ch), "");

    if (!strcmp(workload, "first")) {
        keepalive(ch);
        uint64_t done = now_ns(CLOCK_MONOTONIC);
        printf("RESULT {\"client\": \"swtls-c\", \"workload\": \"first\", \"first_call_ns\": %" PRIu64
               ", \"done_unix_ns\": %" PRIu64 "}\n",
               done - t_start, now_ns(CLOCK_REALTIME));
    } else if (!strcmp(workload, "idle")) {
        keepalive(ch);
        double cpu0 = cpu_seconds();
        sleep((unsigned)idle);
        double cpu1 = cpu_seconds();
        keepalive(ch);
        printf("RESULT {\"client\": \"swtls-c\", \"workload\": \"idle\", \"idle_seconds\": %" PRIu64
               ", \"idle_cpu_seconds\": %.6f, \"rss_kib\": %ld}\n",
               idle, cpu1 - cpu0, rss_kib());
    } else if (!strcmp(workload, "unary")) {
        for (uint64_t i = 0; i < warmup; i++) keepalive(ch);
        uint64_t *ns = alloc_samples(calls);
        double cpu0 = cpu_seconds();
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        for (uint64_t i = 0; i < calls; i++) {
            uint64_t a = now_ns(CLOCK_MONOTONIC);
            keepalive(ch);
            ns[i] = now_ns(CLOCK_MONOTONIC) - a;
        }
        uint64_t t1 = now_ns(CLOCK_MONOTONIC);
        double cpu1 = cpu_seconds();
        write_samples(samples, ns, calls);
        printf("RESULT {\"client\": \"swtls-c\", \"workload\": \"unary\", \"calls\": %" PRIu64
               ", \"seconds\": %.6f, \"cpu_seconds\": %.6f}\n",
               calls, (double)(t1 - t0) / 1e9, cpu1 - cpu0);
        free(ns);
    } else if (!strcmp(workload, "stream")) {
        uint8_t *msg = malloc(size ? size : 1);
        if (!msg) die("allocating %s%s", "the message", "");
        for (uint64_t i = 0; i < size; i++) msg[i] = (uint8_t)(i % 251);
        stream(ch, msg, size, warmup, NULL);
        uint64_t *ns = alloc_samples(messages);
        double cpu0 = cpu_seconds();
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        stream(ch, msg, size, messages, ns);
        uint64_t t1 = now_ns(CLOCK_MONOTONIC);
        double cpu1 = cpu_seconds();
        write_samples(samples, ns, messages);
        printf("RESULT {\"client\": \"swtls-c\", \"workload\": \"stream\", \"messages\": %" PRIu64
               ", \"bytes\": %" PRIu64 ", \"sink_messages\": %" PRIu64 ", \"sink_bytes\": %" PRIu64
               ", \"seconds\": %.6f, \"cpu_seconds\": %.6f}\n",
               messages, messages * size, messages, messages * size, (double)(t1 - t0) / 1e9, cpu1 - cpu0);
        free(ns);
        free(msg);
    } else {
        die("unknown workload '%s'%s", workload, "");
    }
    swtls_channel_free(ch);
    return 0;
}
