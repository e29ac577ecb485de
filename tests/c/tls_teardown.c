/* tls_teardown: calls made while a thread exits, after the library's thread-local storage
 * was destroyed. Built and run by tests/tls_teardown.rs.
 *
 * A thread makes a failing call (so that the library's per-thread last error exists),
 * then sets a pthread key whose destructor calls the library again. glibc runs the
 * destructors of C++/Rust `thread_local` variables before those of pthread keys, so the
 * destructor's calls find the library's thread-local storage gone. They must still return
 * their status (no panic may cross the C boundary, no abort): an unknown key gives
 * CONFIG_UNKNOWN_KEY, NULL arguments NULL_ARGUMENT, a good key OK, and swtls_last_error()
 * a static non-NULL string. main joins the thread and checks what the destructor recorded;
 * exit 0 when all held, 1 otherwise (an abort shows as SIGABRT). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "swtls.h"

static swtls_config *config;
static pthread_key_t key;

static struct {
    int ran;
    swtls_status unknown_key, null_config, null_stream, good_key;
    char last_error[256];
    int last_error_null;
} seen;

static void destructor(void *value) {
    (void)value;
    seen.ran = 1;
    seen.unknown_key = swtls_config_set(config, "agent.no_such_key", "1");
    seen.null_config = swtls_config_set(NULL, "agent.keep_tracing", "true");
    static const uint8_t byte = 0;
    seen.null_stream = swtls_stream_send(NULL, &byte, 1);
    seen.good_key = swtls_config_set(config, "agent.force_tls", "false");
    const char *e = swtls_last_error();
    seen.last_error_null = e == NULL;
    if (e) snprintf(seen.last_error, sizeof seen.last_error, "%s", e);
}

static void *thread(void *arg) {
    (void)arg;
    /* Use the library first: the last error of this thread now lives in its TLS. */
    swtls_status st = swtls_config_set(config, "agent.before_exit", "1");
    if (st != SWTLS_STATUS_CONFIG_UNKNOWN_KEY || !strstr(swtls_last_error(), "agent.before_exit")) {
        fprintf(stderr, "before exit: %s: %s\n", swtls_status_name((uint32_t)st), swtls_last_error());
        return (void *)1;
    }
    pthread_setspecific(key, &seen);
    return NULL;
}

static int check(const char *what, swtls_status got, swtls_status want) {
    if (got == want) return 0;
    fprintf(stderr, "%s: got %s, want %s\n", what, swtls_status_name((uint32_t)got), swtls_status_name((uint32_t)want));
    return 1;
}

int main(void) {
    if (swtls_config_new(&config) != SWTLS_STATUS_OK || pthread_key_create(&key, destructor) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    pthread_t t;
    void *result = NULL;
    if (pthread_create(&t, NULL, thread, NULL) != 0 || pthread_join(t, &result) != 0 || result != NULL) {
        fprintf(stderr, "thread failed\n");
        return 1;
    }
    if (!seen.ran) {
        fprintf(stderr, "the key destructor did not run\n");
        return 1;
    }
    int failed = check("unknown key", seen.unknown_key, SWTLS_STATUS_CONFIG_UNKNOWN_KEY) +
                 check("NULL config", seen.null_config, SWTLS_STATUS_NULL_ARGUMENT) +
                 check("NULL stream", seen.null_stream, SWTLS_STATUS_NULL_ARGUMENT) +
                 check("good key", seen.good_key, SWTLS_STATUS_OK);
    if (seen.last_error_null) {
        fprintf(stderr, "swtls_last_error() returned NULL\n");
        failed++;
    }
    /* The calling thread's storage is untouched: its own calls still record their message. */
    failed += check("main thread", swtls_config_set(config, "agent.in_main", "1"), SWTLS_STATUS_CONFIG_UNKNOWN_KEY);
    if (!strstr(swtls_last_error(), "agent.in_main")) {
        fprintf(stderr, "main thread's last error: %s\n", swtls_last_error());
        failed++;
    }
    swtls_config_free(config);
    printf("last error in the destructor: %s\n", seen.last_error);
    if (failed) return 1;
    printf("tls_teardown: OK\n");
    return 0;
}
