/* fork COUNT: fork safety of a channel, as a pre-forking server (php-fpm, gunicorn) uses it.
 * Built and run by tests/fork.rs; configured from the environment like the examples.
 *
 *   1. The parent makes a channel, reports COUNT segments "parent-before-N" and flushes.
 *   2. A parent thread keeps reporting "parent-bg-N" (COUNT of them, 1 ms apart) while
 *      the main thread forks, so that the fork happens while the library is busy.
 *   3. The child reports COUNT segments "child-N" through the same channel handle,
 *      flushes, and checks its counters (since the fork: exactly its COUNT messages, all
 *      acknowledged), closes and frees the channel; exit 0 only if all that held.
 *   4. Meanwhile the parent reports COUNT "parent-after-N", joins its thread, flushes,
 *      waits for the child, and checks that its own counters saw nothing of the child.
 *
 * Prints "parent: ..." / "child: ..." lines with the counters; exits 0 when both sides
 * had every message acknowledged. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define COLLECT "/skywalking.v3.TraceSegmentReportService/collect"

static swtls_channel *channel;
static long count;

/* Reports COUNT segments with ids PREFIX-N; returns how many were not queued. */
static long report_all(const char *prefix, long pause_us) {
    uint8_t seg[256];
    char id[64];
    long failed = 0;
    for (long i = 0; i < count; i++) {
        snprintf(id, sizeof id, "%s-%ld", prefix, i);
        size_t len = put_string(seg, 0, 1, "fork-trace");
        len = put_string(seg, len, 2, id);
        len = put_string(seg, len, 4, "fork-svc");
        len = put_string(seg, len, 5, prefix);
        swtls_status st = swtls_report(channel, COLLECT, seg, len);
        if (st != SWTLS_STATUS_OK) {
            fprintf(stderr, "%s: swtls_report: %s: %s\n", prefix, swtls_status_name((uint32_t)st), swtls_last_error());
            failed++;
        }
        if (pause_us > 0) {
            struct timespec ts = {0, pause_us * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return failed;
}

static void *background(void *arg) {
    (void)arg;
    return (void *)(intptr_t)report_all("parent-bg", 1000);
}

static int check(const char *who, uint64_t want) {
    swtls_status flushed = swtls_channel_flush(channel, 20000);
    if (flushed != SWTLS_STATUS_OK)
        fprintf(stderr, "%s: flush: %s: %s\n", who, swtls_status_name((uint32_t)flushed), swtls_last_error());
    swtls_stats s;
    swtls_status st = swtls_channel_stats(channel, &s);
    if (st != SWTLS_STATUS_OK) die("swtls_channel_stats", st);
    printf("%s: ", who);
    print_stats(stdout, &s);
    fflush(stdout);
    return flushed == SWTLS_STATUS_OK && s.queued == want && s.acknowledged == want && s.pending == 0;
}

int main(int argc, char **argv) {
    if (argc != 2 || (count = strtol(argv[1], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: %s COUNT\n", argv[0]);
        return 2;
    }
    channel = channel_from_env();
    if (report_all("parent-before", 0) != 0 || !check("parent-before", (uint64_t)count)) return 1;

    pthread_t bg;
    if (pthread_create(&bg, NULL, background, NULL) != 0) return 2;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        /* The child: the parent's thread does not exist here; the channel does. */
        int ok = report_all("child", 0) == 0 && check("child", (uint64_t)count);
        swtls_status closed = swtls_channel_close(channel, 5000);
        swtls_status again = swtls_report(channel, COLLECT, (const uint8_t *)"x", 1);
        ok = ok && closed == SWTLS_STATUS_OK && again == SWTLS_STATUS_CLOSED;
        swtls_channel_free(channel);
        printf("child: %s\n", ok ? "ok" : "FAILED");
        fflush(stdout);
        _exit(ok ? 0 : 1);
    }
    long failed = report_all("parent-after", 0);
    void *bg_failed = NULL;
    pthread_join(bg, &bg_failed);
    int ok = failed == 0 && bg_failed == NULL && check("parent", 3 * (uint64_t)count);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        return 2;
    }
    int child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    swtls_status closed = swtls_channel_close(channel, 5000);
    swtls_channel_free(channel);
    printf("parent: %s, child: %s\n", ok && closed == SWTLS_STATUS_OK ? "ok" : "FAILED", child_ok ? "ok" : "FAILED");
    return ok && closed == SWTLS_STATUS_OK && child_ok ? 0 : 1;
}
