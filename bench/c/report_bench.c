/* report_bench latency THREADS CALLS SIZE [PAUSE_US]
 * report_bench throughput MESSAGES SIZE
 *
 * Benchmarks the reporter (swtls_report) through the C API, with the channel configured
 * from the environment like the examples (SW_AGENT_*, SWTLS_CA_DIR, SWTLS_REPORT_QUEUE_*).
 * bench/report.sh runs it against a backend that is up, down (nothing listening) and
 * slow (a collector that waits after each streamed message).
 *
 *   latency:    THREADS threads each make CALLS swtls_report calls of SIZE bytes, with a
 *               PAUSE_US (default 50) us nanosleep between calls (an application doing
 *               other work; 50 us gives about 10k calls/s, 1000 about 1k/s), timing
 *               every call on the caller's thread with CLOCK_MONOTONIC. Prints p50, p99,
 *               p99.9 and max over all calls, how many were queued or dropped (queue
 *               full), and the channel's counters.
 *               Then closes the channel with a 1 ms timeout (what is left is dropped).
 *   throughput: one thread reports MESSAGES messages of SIZE bytes as fast as it can
 *               (the queue must hold them all: set SWTLS_REPORT_QUEUE_MESSAGES/BYTES), then
 *               flushes. Prints messages/s and MB/s acknowledged, from the first report to
 *               the end of the flush, and exits 1 unless every message was acknowledged.
 *
 * The last line is flat JSON (numbers only) for scripts. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swtls.h"

#define COLLECT "/skywalking.v3.TraceSegmentReportService/collect"
#define ECHO_COLLECT "/swtls.test.Echo/collect"
#define MAX_THREADS 64

static swtls_channel *channel;
static size_t size;
static unsigned long calls;
static unsigned long pause_us = 50;
static uint64_t elapsed_ns_total;
static pthread_mutex_t elapsed_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *samples; /* THREADS * CALLS durations, ns */
static unsigned long long queued_ok[MAX_THREADS], queue_full[MAX_THREADS];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what, swtls_status st) {
    fprintf(stderr, "report_bench: %s failed: %s: %s\n", what, swtls_status_name((uint32_t)st), swtls_last_error());
    exit(1);
}

static unsigned long parse(const char *text, const char *what) {
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (*text == '\0' || *text == '-' || *end != '\0' || v == 0) {
        fprintf(stderr, "report_bench: %s must be a positive number, not '%s'\n", what, text);
        exit(2);
    }
    return v;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *sorted, size_t n, double p) {
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)sorted[i] / 1000.0;
}

static void *reporter(void *arg) {
    long t = (long)(intptr_t)arg;
    uint8_t *msg = malloc(size);
    if (!msg) exit(2);
    memset(msg, 'x', size);
    uint64_t *out = samples + (size_t)t * calls;
    uint64_t started = now_ns();
    for (unsigned long i = 0; i < calls; i++) {
        uint64_t t0 = now_ns();
        swtls_status st = swtls_report(channel, ECHO_COLLECT, msg, size);
        uint64_t t1 = now_ns();
        out[i] = t1 - t0;
        if (st == SWTLS_STATUS_OK) {
            queued_ok[t]++;
        } else if (st == SWTLS_STATUS_RESOURCE_EXHAUSTED) {
            queue_full[t]++;
        } else {
            fail("swtls_report", st);
        }
        /* A pause between reports (an application doing other work): nanosleep makes
         * it a little longer than asked; the rate printed is what it was. */
        struct timespec pause = {(time_t)(pause_us / 1000000), (long)(pause_us % 1000000) * 1000};
        nanosleep(&pause, NULL);
    }
    uint64_t elapsed = now_ns() - started;
    pthread_mutex_lock(&elapsed_lock);
    elapsed_ns_total += elapsed;
    pthread_mutex_unlock(&elapsed_lock);
    free(msg);
    return NULL;
}

static swtls_channel *channel_from_env(void) {
    swtls_config *config = NULL;
    swtls_channel *ch = NULL;
    swtls_status st = swtls_config_new(&config);
    if (st != SWTLS_STATUS_OK) fail("swtls_config_new", st);
    st = swtls_config_load_env(config);
    if (st != SWTLS_STATUS_OK) fail("swtls_config_load_env", st);
    st = swtls_channel_new(config, &ch);
    swtls_config_free(config);
    if (st != SWTLS_STATUS_OK) fail("swtls_channel_new", st);
    return ch;
}

static void print_counters(const swtls_stats *s) {
    printf("counters: queued %llu, acknowledged %llu, dropped (queue full) %llu, dropped (closed) %llu, "
           "dropped (server error) %llu, failed streams %llu, connect failures %llu\n",
           (unsigned long long)s->queued, (unsigned long long)s->acknowledged,
           (unsigned long long)s->dropped_queue_full, (unsigned long long)s->dropped_closed,
           (unsigned long long)s->dropped_server_error, (unsigned long long)s->failed_streams,
           (unsigned long long)s->connect_failures);
}

static int latency(unsigned long threads) {
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    samples = malloc(threads * calls * sizeof *samples);
    if (!samples) exit(2);
    /* Start the method's queue and task first: the first report to a method sets them up. */
    uint8_t one = 0;
    swtls_status st = swtls_report(channel, ECHO_COLLECT, &one, 1);
    if (st != SWTLS_STATUS_OK) fail("swtls_report (warm-up)", st);
    pthread_t tids[MAX_THREADS];
    for (unsigned long t = 0; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, reporter, (void *)(intptr_t)t) != 0) exit(2);
    }
    for (unsigned long t = 0; t < threads; t++) pthread_join(tids[t], NULL);
    size_t n = threads * calls;
    qsort(samples, n, sizeof *samples, cmp_u64);
    unsigned long long ok = 0, full = 0;
    for (unsigned long t = 0; t < threads; t++) {
        ok += queued_ok[t];
        full += queue_full[t];
    }
    swtls_stats s;
    st = swtls_channel_stats(channel, &s);
    if (st != SWTLS_STATUS_OK) fail("swtls_channel_stats", st);
    double p50 = pct_us(samples, n, 50), p99 = pct_us(samples, n, 99), p999 = pct_us(samples, n, 99.9);
    double max = (double)samples[n - 1] / 1000.0;
    printf("swtls_report on the caller's thread, %lu threads x %lu calls of %zu bytes: "
           "p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.1f us\n",
           threads, calls, size, p50, p99, p999, max);
    /* Calls per second of one thread (the mean over the threads). */
    double rate = (double)calls * 1e9 / ((double)elapsed_ns_total / (double)threads);
    printf("%.0f calls/s per thread (pause %lu us); queued %llu, dropped because the queue was full %llu\n", rate,
           pause_us, ok, full);
    print_counters(&s);
    swtls_channel_close(channel, 1);
    printf("{\"threads\":%lu,\"calls\":%lu,\"size\":%zu,\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,"
           "\"max_us\":%.1f,\"queued\":%llu,\"queue_full\":%llu,\"rate_per_thread\":%.0f}\n",
           threads, calls, size, p50, p99, p999, max, ok, full, rate);
    free(samples);
    return 0;
}

static int throughput(unsigned long messages) {
    uint8_t *msg = malloc(size);
    if (!msg) exit(2);
    memset(msg, 'x', size);
    /* Warm-up: connect, handshake, start the queue's task. */
    for (int i = 0; i < 1000; i++) {
        swtls_status st = swtls_report(channel, ECHO_COLLECT, msg, size);
        if (st != SWTLS_STATUS_OK) fail("swtls_report (warm-up)", st);
    }
    swtls_status st = swtls_channel_flush(channel, 60000);
    if (st != SWTLS_STATUS_OK) fail("swtls_channel_flush (warm-up)", st);
    uint64_t t0 = now_ns();
    for (unsigned long i = 0; i < messages; i++) {
        st = swtls_report(channel, ECHO_COLLECT, msg, size);
        if (st != SWTLS_STATUS_OK) fail("swtls_report (the queue must hold all messages)", st);
    }
    uint64_t queued_at = now_ns();
    st = swtls_channel_flush(channel, 600000);
    uint64_t t1 = now_ns();
    if (st != SWTLS_STATUS_OK) fail("swtls_channel_flush", st);
    swtls_stats s;
    st = swtls_channel_stats(channel, &s);
    if (st != SWTLS_STATUS_OK) fail("swtls_channel_stats", st);
    if (s.acknowledged != messages + 1000) {
        fprintf(stderr, "report_bench: %llu acknowledged, wanted %lu\n", (unsigned long long)s.acknowledged,
                messages + 1000);
        return 1;
    }
    double secs = (double)(t1 - t0) / 1e9;
    double mps = (double)messages / secs, mbps = (double)messages * (double)size / secs / 1e6;
    printf("reporter throughput, %lu messages of %zu bytes: %.0f msgs/s, %.1f MB/s (%.1f MiB/s); "
           "reporting took %.1f ms, flushing %.1f ms\n",
           messages, size, mps, mbps, mbps * 1e6 / (1024.0 * 1024.0), (double)(queued_at - t0) / 1e6,
           (double)(t1 - queued_at) / 1e6);
    print_counters(&s);
    swtls_channel_close(channel, 1000);
    printf("{\"messages\":%lu,\"size\":%zu,\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f}\n", messages, size, mps, mbps);
    free(msg);
    return 0;
}

int main(int argc, char **argv) {
    int rc;
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "latency") == 0) {
        unsigned long threads = parse(argv[2], "THREADS");
        calls = parse(argv[3], "CALLS");
        size = parse(argv[4], "SIZE");
        if (argc == 6) pause_us = parse(argv[5], "PAUSE_US");
        channel = channel_from_env();
        rc = latency(threads);
    } else if (argc == 4 && strcmp(argv[1], "throughput") == 0) {
        unsigned long messages = parse(argv[2], "MESSAGES");
        size = parse(argv[3], "SIZE");
        channel = channel_from_env();
        rc = throughput(messages);
    } else {
        fprintf(stderr, "usage: %s latency THREADS CALLS SIZE [PAUSE_US] | throughput MESSAGES SIZE\n", argv[0]);
        return 2;
    }
    swtls_channel_free(channel);
    return rc;
}
