/* fork_log: fork() while a library thread sits in a slow log callback right after a CA
 * rotation (issue 11, item 1). Built and run by tests/fork.rs; configured from the
 * environment like the examples (mutual TLS from SWTLS_CA_DIR).
 *
 *   1. The log callback sleeps 3 s on the "certificates changed on disk" message.
 *   2. The channel is made (no connection yet), then ca.crt is rewritten (same CA, one
 *      more newline), so the first connection reloads the material and logs that line.
 *   3. A thread makes the first keepAlive; once it is inside the slow callback, the main
 *      thread forks.
 *   4. The child's keepAlive must succeed within its 2 s deadline, and replacing the log
 *      callback there must return (the parent's call in progress does not exist in the
 *      child). An alarm kills a hung child.
 *
 * Prints "child: ok" and "parent: ok"; exits 0 when both held. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define KEEPALIVE "/skywalking.v3.ManagementService/keepAlive"

static swtls_channel *channel;
static atomic_int in_slow_callback;
static const uint8_t ping[] = {0x0a, 0x03, 's', 'v', 'c', 0x12, 0x04, 'i', 'n', 's', 't'};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void slow_callback(void *userdata, swtls_log_level level, const char *message, size_t len) {
    (void)userdata;
    (void)level;
    (void)len;
    if (strstr(message, "changed on disk") != NULL) {
        atomic_store(&in_slow_callback, 1);
        sleep_ms(3000);
    }
}

static void quiet_callback(void *userdata, swtls_log_level level, const char *message, size_t len) {
    (void)userdata;
    (void)level;
    (void)message;
    (void)len;
}

static swtls_status keepalive(uint32_t timeout_ms) {
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    swtls_status st = swtls_channel_unary(channel, KEEPALIVE, ping, sizeof ping, timeout_ms, &resp, &resp_len);
    if (st == SWTLS_STATUS_OK) swtls_bytes_free(resp, resp_len);
    return st;
}

static void *first_call(void *arg) {
    (void)arg;
    return (void *)(intptr_t)keepalive(10000);
}

static int append_newline(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    FILE *f = fopen(path, "a");
    if (!f) return 0;
    fputc('\n', f);
    return fclose(f) == 0;
}

int main(void) {
    const char *dir = getenv("SWTLS_CA_DIR");
    if (!dir) return 2;
    swtls_status st = swtls_set_log_callback(slow_callback, NULL, SWTLS_LOG_LEVEL_INFO);
    if (st != SWTLS_STATUS_OK) die("swtls_set_log_callback", st);
    channel = channel_from_env();
    if (!append_newline(dir)) return 2;

    pthread_t t;
    if (pthread_create(&t, NULL, first_call, NULL) != 0) return 2;
    for (int i = 0; i < 1000 && !atomic_load(&in_slow_callback); i++) sleep_ms(10);
    if (!atomic_load(&in_slow_callback)) {
        fprintf(stderr, "the reload was never logged\n");
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
        alarm(20);
        double t0 = now();
        swtls_status child_st = keepalive(2000);
        double took = now() - t0;
        printf("child: keepAlive %s in %.3f s\n", swtls_status_name((uint32_t)child_st), took);
        if (child_st != SWTLS_STATUS_OK) printf("child: %s\n", swtls_last_error());
        fflush(stdout);
        double r0 = now();
        swtls_status replaced = swtls_set_log_callback(quiet_callback, NULL, SWTLS_LOG_LEVEL_INFO);
        swtls_status restored = swtls_set_log_callback(NULL, NULL, SWTLS_LOG_LEVEL_WARN);
        double replace_took = now() - r0;
        printf("child: log callback replaced in %.3f s\n", replace_took);
        int ok = child_st == SWTLS_STATUS_OK && took < 2.5 && replaced == SWTLS_STATUS_OK &&
                 restored == SWTLS_STATUS_OK && replace_took < 1.0;
        swtls_channel_free(channel);
        printf("child: %s\n", ok ? "ok" : "FAILED");
        fflush(stdout);
        _exit(ok ? 0 : 1);
    }
    void *first = NULL;
    pthread_join(t, &first);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 2;
    int child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (WIFSIGNALED(status)) printf("parent: the child was killed by signal %d (hung)\n", WTERMSIG(status));
    int ok = (swtls_status)(intptr_t)first == SWTLS_STATUS_OK;
    swtls_set_log_callback(NULL, NULL, SWTLS_LOG_LEVEL_WARN);
    swtls_channel_free(channel);
    printf("parent: %s, child: %s\n", ok ? "ok" : "FAILED", child_ok ? "ok" : "FAILED");
    return ok && child_ok ? 0 : 1;
}
