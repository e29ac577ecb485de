/* Concurrency stress: 16 threads share one channel for a bounded time (argv[1] seconds,
 * default 5), mixing unary calls, reports, stats, flushes and sends on one shared stream
 * handle; another thread finishes that stream while they still send on it (half-way), then
 * closes the channel while they still run (three quarters). Checks: no crash (ASan/UBSan
 * and valgrind builds in .ci/sanitizers.sh), no deadlock (every thread ends, the whole run
 * is bounded by `timeout` in the script), every call returns OK or an expected status
 * (CLOSED after the close or, for the stream, after its finish, RESOURCE_EXHAUSTED for a
 * full queue, DEADLINE_EXCEEDED for a flush that runs out of time), the stream's sends came
 * from several threads and its finish succeeded, and the counters' invariant holds in every
 * snapshot. Prints "stress: OK ...". */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "swtls.h"

#define THREADS 16

static const char *KEEPALIVE = "/skywalking.v3.ManagementService/keepAlive";
static const char *COLLECT = "/skywalking.v3.TraceSegmentReportService/collect";
static const uint8_t PING[] = {0x0a, 6, 's', 't', 'r', 'e', 's', 's', 0x12, 1, 'i'};

static swtls_channel *channel;
static swtls_stream *stream; /* one handle, used by every worker at once */
static atomic_int stream_finished = 0;
static atomic_int stream_senders = 0; /* threads that sent on the stream successfully */
static atomic_long stream_sends = 0;
static swtls_status finish_status = SWTLS_STATUS_OK;
static atomic_int closed = 0;
static atomic_int failures = 0;
static atomic_long calls = 0;
static double stop_at, finish_at;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_stats(void) {
    swtls_stats s;
    swtls_status st = swtls_channel_stats(channel, &s);
    if (st != SWTLS_STATUS_OK) {
        fprintf(stderr, "stats: %s: %s\n", swtls_status_name((uint32_t)st), swtls_last_error());
        atomic_fetch_add(&failures, 1);
        return;
    }
    uint64_t accounted = s.acknowledged + s.dropped_queue_full + s.dropped_closed + s.dropped_server_error + s.pending;
    if (s.queued != accounted) {
        fprintf(stderr, "invariant broken: queued %llu != %llu\n", (unsigned long long)s.queued,
                (unsigned long long)accounted);
        atomic_fetch_add(&failures, 1);
    }
}

/* OK always; CLOSED once the channel was closed; `also` where the operation allows it. */
static void expect(const char *what, swtls_status st, swtls_status also) {
    atomic_fetch_add(&calls, 1);
    if (st == SWTLS_STATUS_OK || st == also) return;
    if (st == SWTLS_STATUS_CLOSED && atomic_load(&closed)) return;
    fprintf(stderr, "%s: %s: %s\n", what, swtls_status_name((uint32_t)st), swtls_last_error());
    atomic_fetch_add(&failures, 1);
}

static void stream_send(int *sent) {
    swtls_status st = swtls_stream_send(stream, PING, sizeof PING);
    atomic_fetch_add(&calls, 1);
    if (st == SWTLS_STATUS_OK) {
        atomic_fetch_add(&stream_sends, 1);
        if (!*sent) atomic_fetch_add(&stream_senders, 1);
        *sent = 1;
        return;
    }
    if (st == SWTLS_STATUS_CLOSED && atomic_load(&stream_finished)) return;
    fprintf(stderr, "stream send: %s: %s\n", swtls_status_name((uint32_t)st), swtls_last_error());
    atomic_fetch_add(&failures, 1);
}

static void *worker(void *arg) {
    long id = (long)arg;
    int sent = 0;
    for (long i = 0; now() < stop_at; i++) {
        switch ((id + i) % 8) {
        case 0: {
            uint8_t *resp = NULL;
            size_t len = 0;
            swtls_status st = swtls_channel_unary(channel, KEEPALIVE, PING, sizeof PING, 5000, &resp, &len);
            if (st == SWTLS_STATUS_OK) swtls_bytes_free(resp, len);
            expect("unary", st, SWTLS_STATUS_OK);
            break;
        }
        case 1:
            check_stats();
            break;
        case 2:
            expect("flush", swtls_channel_flush(channel, 200), SWTLS_STATUS_DEADLINE_EXCEEDED);
            break;
        case 3:
            stream_send(&sent);
            break;
        default:
            expect("report", swtls_report(channel, COLLECT, PING, sizeof PING), SWTLS_STATUS_RESOURCE_EXHAUSTED);
        }
    }
    return NULL;
}

static void *closer(void *arg) {
    double close_at = *(double *)arg;
    struct timespec ts = {0, 10 * 1000 * 1000};
    while (now() < finish_at) nanosleep(&ts, NULL);
    atomic_store(&stream_finished, 1);
    uint8_t *resp = NULL;
    size_t len = 0;
    finish_status = swtls_stream_finish(stream, &resp, &len);
    if (finish_status == SWTLS_STATUS_OK)
        swtls_bytes_free(resp, len);
    else
        fprintf(stderr, "stream finish: %s: %s\n", swtls_status_name((uint32_t)finish_status), swtls_last_error());
    while (now() < close_at) nanosleep(&ts, NULL);
    atomic_store(&closed, 1);
    swtls_status st = swtls_channel_close(channel, 2000);
    if (st != SWTLS_STATUS_OK && st != SWTLS_STATUS_DEADLINE_EXCEEDED) {
        fprintf(stderr, "close: %s: %s\n", swtls_status_name((uint32_t)st), swtls_last_error());
        atomic_fetch_add(&failures, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    swtls_config *config = NULL;
    if (swtls_config_new(&config) != SWTLS_STATUS_OK || swtls_config_load_env(config) != SWTLS_STATUS_OK ||
        swtls_config_set(config, "swtls.report_queue_messages", "200") != SWTLS_STATUS_OK ||
        swtls_channel_new(config, &channel) != SWTLS_STATUS_OK ||
        swtls_channel_stream_open(channel, COLLECT, 0, &stream) != SWTLS_STATUS_OK) {
        fprintf(stderr, "setup: %s\n", swtls_last_error());
        return 1;
    }
    swtls_config_free(config);
    double start = now();
    stop_at = start + seconds;
    double close_at = start + seconds * 0.75;
    finish_at = start + seconds * 0.5;
    pthread_t threads[THREADS], closing;
    for (long i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, (void *)i);
    pthread_create(&closing, NULL, closer, &close_at);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    pthread_join(closing, NULL);
    check_stats();
    swtls_stats s;
    swtls_channel_stats(channel, &s);
    swtls_stream_free(stream);
    swtls_channel_free(channel);
    if (finish_status != SWTLS_STATUS_OK) atomic_fetch_add(&failures, 1);
    if (atomic_load(&stream_senders) < 2) {
        fprintf(stderr, "stress: %d thread(s) sent on the shared stream, expected several\n",
                atomic_load(&stream_senders));
        atomic_fetch_add(&failures, 1);
    }
    if (atomic_load(&failures)) {
        fprintf(stderr, "stress: %d failure(s)\n", atomic_load(&failures));
        return 1;
    }
    if (s.acknowledged == 0) {
        fprintf(stderr, "stress: nothing was acknowledged\n");
        return 1;
    }
    printf("stress: OK %ld calls from %d threads; queued %llu acknowledged %llu dropped %llu; "
           "%ld sends on one stream from %d threads\n",
           atomic_load(&calls), THREADS, (unsigned long long)s.queued, (unsigned long long)s.acknowledged,
           (unsigned long long)(s.dropped_queue_full + s.dropped_closed + s.dropped_server_error),
           atomic_load(&stream_sends), atomic_load(&stream_senders));
    return 0;
}
