/* agent SERVICE INSTANCE DURATION_MS [THREADS [KEEPALIVE_MS]]
 *
 * A small agent, configured from the environment like the other examples (SW_AGENT_*,
 * SWTLS_CA_DIR, SWTLS_REPORT_QUEUE_*):
 *   - routes the library's log messages (info and more severe) through a callback that
 *     prints "[swtls LEVEL] message" on stderr;
 *   - sends a keepAlive (InstancePingPkg) at start and then every KEEPALIVE_MS
 *     (default 3000) from the main thread;
 *   - THREADS threads (default 4) report trace segments with swtls_report, about one
 *     every 2 ms each, never waiting for the network (a full queue drops the segment);
 *   - after DURATION_MS, closes the channel (delivering what is queued, up to 10 s).
 *
 * Prints "keepalive ok=K failed=F", "reported=R dropped=D threads=T" and the counters
 * (swtls_channel_stats) on stdout, and exits 0 only when every keepAlive succeeded and
 * every segment the queue accepted was acknowledged.
 *
 * The messages are encoded by hand (put_string, common.h: C has no generated SkyWalking
 * protocol code at hand). */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "common.h"

#define KEEPALIVE "/skywalking.v3.ManagementService/keepAlive"
#define COLLECT "/skywalking.v3.TraceSegmentReportService/collect"
#define MAX_THREADS 64

static const char *service, *instance;
static swtls_channel *channel;
static uint64_t end_ns;
static atomic_ullong reported, dropped, log_lines;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_log(void *userdata, swtls_log_level level, const char *message, size_t len) {
    (void)userdata;
    static const char *names[] = {"?", "ERROR", "WARN", "INFO", "DEBUG"};
    const char *name = level >= 1 && level <= 4 ? names[level] : names[0];
    atomic_fetch_add(&log_lines, 1);
    fprintf(stderr, "[swtls %s] %.*s\n", name, (int)len, message);
}

static long parse(const char *text, const char *what, long min) {
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min) {
        fprintf(stderr, "%s must be a number of at least %ld, not '%s'\n", what, min, text);
        exit(2);
    }
    return v;
}

/* One reporting thread: a skywalking.v3.SegmentObject (traceId, traceSegmentId, service,
 * serviceInstance) per report, ids "INSTANCE-THREAD-N". */
static void *reporter(void *arg) {
    long t = (long)(intptr_t)arg;
    size_t cap = strlen(service) + 2 * strlen(instance) + 128;
    uint8_t *seg = malloc(cap);
    char id[64 + 256];
    if (!seg) return NULL;
    for (unsigned long i = 0; now_ns() < end_ns; i++) {
        snprintf(id, sizeof id, "%.256s-%ld-%lu", instance, t, i);
        size_t len = put_string(seg, 0, 1, "agent-trace");
        len = put_string(seg, len, 2, id);
        len = put_string(seg, len, 4, service);
        len = put_string(seg, len, 5, instance);
        swtls_status st = swtls_report(channel, COLLECT, seg, len);
        atomic_fetch_add(&reported, 1);
        if (st == SWTLS_STATUS_RESOURCE_EXHAUSTED) {
            atomic_fetch_add(&dropped, 1);
        } else if (st != SWTLS_STATUS_OK) {
            fprintf(stderr, "swtls_report: %s: %s\n", swtls_status_name((uint32_t)st), swtls_last_error());
            atomic_fetch_add(&dropped, 1);
        }
        sleep_ms(2);
    }
    free(seg);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s SERVICE INSTANCE DURATION_MS [THREADS [KEEPALIVE_MS]]\n", argv[0]);
        return 2;
    }
    service = argv[1];
    instance = argv[2];
    long duration = parse(argv[3], "DURATION_MS", 0);
    long threads = argc > 4 ? parse(argv[4], "THREADS", 1) : 4;
    long keepalive_ms = argc > 5 ? parse(argv[5], "KEEPALIVE_MS", 1) : 3000;
    if (threads > MAX_THREADS) threads = MAX_THREADS;

    swtls_status st = swtls_set_log_callback(on_log, NULL, SWTLS_LOG_LEVEL_INFO);
    if (st != SWTLS_STATUS_OK) die("swtls_set_log_callback", st);
    channel = channel_from_env();

    size_t ping_cap = strlen(service) + strlen(instance) + 32;
    uint8_t *ping = malloc(ping_cap);
    if (!ping) return 2;
    size_t ping_len = put_string(ping, 0, 1, service);
    ping_len = put_string(ping, ping_len, 2, instance);

    end_ns = now_ns() + (uint64_t)duration * 1000000u;
    pthread_t tids[MAX_THREADS];
    long started = 0;
    for (; started < threads; started++) {
        if (pthread_create(&tids[started], NULL, reporter, (void *)(intptr_t)started) != 0) break;
    }
    unsigned long ka_ok = 0, ka_failed = 0;
    for (;;) {
        uint8_t *resp = NULL;
        size_t resp_len = 0;
        st = swtls_channel_unary(channel, KEEPALIVE, ping, ping_len, 0, &resp, &resp_len);
        if (st == SWTLS_STATUS_OK) {
            ka_ok++;
            swtls_bytes_free(resp, resp_len);
        } else {
            ka_failed++;
            fprintf(stderr, "keepAlive: %s: %s\n", swtls_status_name((uint32_t)st), swtls_last_error());
        }
        uint64_t now = now_ns();
        if (now >= end_ns) break;
        uint64_t left_ms = (end_ns - now) / 1000000u;
        if (left_ms < (uint64_t)keepalive_ms) {
            sleep_ms(left_ms);
            break;
        }
        sleep_ms((uint64_t)keepalive_ms);
    }
    for (long t = 0; t < started; t++) pthread_join(tids[t], NULL);
    free(ping);

    swtls_status closed = swtls_channel_close(channel, 10000);
    if (closed != SWTLS_STATUS_OK)
        fprintf(stderr, "close: %s: %s\n", swtls_status_name((uint32_t)closed), swtls_last_error());
    swtls_stats stats;
    st = swtls_channel_stats(channel, &stats);
    if (st != SWTLS_STATUS_OK) die("swtls_channel_stats", st);
    swtls_channel_free(channel);
    /* Back to the default sink before exit: no callback after this point. */
    swtls_set_log_callback(NULL, NULL, SWTLS_LOG_LEVEL_WARN);

    unsigned long long r = atomic_load(&reported), d = atomic_load(&dropped);
    printf("keepalive ok=%lu failed=%lu\n", ka_ok, ka_failed);
    printf("reported=%llu dropped=%llu threads=%ld\n", r, d, started);
    print_stats(stdout, &stats);
    fflush(stdout);
    fprintf(stderr, "%llu log message(s) through the callback\n", (unsigned long long)atomic_load(&log_lines));
    int ok = ka_failed == 0 && ka_ok > 0 && started == threads && closed == SWTLS_STATUS_OK &&
             stats.acknowledged == r - d && stats.queued == r;
    return ok ? 0 : 1;
}
