/* Calls every function of the C API, including the misuse cases (NULL arguments, invalid
 * UTF-8, double finish, double close, use after close), against a real collector named by
 * SW_AGENT_COLLECTOR_BACKEND_SERVICES / SWTLS_CA_DIR (mutual TLS). Built with
 * -fsanitize=address,undefined and run under valgrind by .ci/sanitizers.sh; prints
 * "api: OK" and exits 0 when every expectation held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swtls.h"

static int failures = 0;

#define EXPECT(cond, ...)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "api.c:%d: expectation failed: %s: ", __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, " (last error: %s)\n", swtls_last_error());       \
            failures++;                                                       \
        }                                                                     \
    } while (0)

#define EXPECT_STATUS(call, want)                                                         \
    do {                                                                                  \
        swtls_status got_ = (call);                                                       \
        EXPECT(got_ == (want), "%s returned %s, wanted %s", #call,                        \
               swtls_status_name((uint32_t)got_), swtls_status_name((uint32_t)(want)));   \
    } while (0)

static const char *KEEPALIVE = "/skywalking.v3.ManagementService/keepAlive";
static const char *COLLECT = "/skywalking.v3.TraceSegmentReportService/collect";

/* InstancePingPkg{service = "c-api", serviceInstance = "asan"} */
static const uint8_t PING[] = {0x0a, 5, 'c', '-', 'a', 'p', 'i', 0x12, 4, 'a', 's', 'a', 'n'};

static int log_lines = 0;
static void on_log(void *userdata, swtls_log_level level, const char *message, size_t len) {
    (void)level;
    EXPECT(userdata == &log_lines, "userdata passed through");
    EXPECT(message != NULL && strlen(message) == len, "message is NUL-terminated and len is its length");
    log_lines++;
}

static void misc(void) {
    EXPECT(strncmp(swtls_version(), "swtls/", 6) == 0, "version '%s'", swtls_version());
    EXPECT(swtls_version_number() == SWTLS_VERSION_NUMBER, "version number %u, header %u",
           (unsigned)swtls_version_number(), (unsigned)SWTLS_VERSION_NUMBER);
    EXPECT(strcmp(swtls_status_name(SWTLS_STATUS_UNAUTHENTICATED), "UNAUTHENTICATED") == 0, "status name");
    EXPECT(strcmp(swtls_status_name(999999), "UNRECOGNIZED") == 0, "unknown status name");
    EXPECT_STATUS(swtls_set_log_callback(on_log, &log_lines, 99), SWTLS_STATUS_INVALID_PARAMETER);
    EXPECT_STATUS(swtls_set_log_callback(on_log, &log_lines, SWTLS_LOG_LEVEL_DEBUG), SWTLS_STATUS_OK);
    swtls_bytes_free(NULL, 0);
}

static swtls_config *config_checks(void) {
    swtls_config *config = NULL;
    EXPECT_STATUS(swtls_config_new(NULL), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT(strstr(swtls_last_error(), "NULL") != NULL, "the message says NULL");
    EXPECT_STATUS(swtls_config_new(&config), SWTLS_STATUS_OK);
    EXPECT_STATUS(swtls_config_set(NULL, "agent.force_tls", "true"), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_config_set(config, NULL, "true"), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_config_set(config, "agent.force_tls", NULL), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_config_set(config, "agent.nope", "1"), SWTLS_STATUS_CONFIG_UNKNOWN_KEY);
    EXPECT_STATUS(swtls_config_set(config, "agent.force_tls", "maybe"), SWTLS_STATUS_CONFIG_INVALID_VALUE);
    EXPECT_STATUS(swtls_config_set(config, "collector.backend_service", "a:1,b"), SWTLS_STATUS_CONFIG_INVALID_BACKEND);
    EXPECT_STATUS(swtls_config_set(config, "agent.force_tls", "\xff\xfe"), SWTLS_STATUS_INVALID_UTF8);
    EXPECT_STATUS(swtls_config_load_env(NULL), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_config_load_env(config), SWTLS_STATUS_OK);
    swtls_config_free(NULL);
    return config;
}

static void calls(swtls_channel *channel) {
    uint8_t *resp = (uint8_t *)0x1;
    size_t resp_len = 12345;
    swtls_tls_mode mode;
    EXPECT_STATUS(swtls_channel_tls_mode(NULL, &mode), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_tls_mode(channel, NULL), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_tls_mode(channel, &mode), SWTLS_STATUS_OK);
    EXPECT(mode == SWTLS_TLS_MODE_MUTUAL_TLS, "mode %d", (int)mode);
    EXPECT(swtls_channel_tls_reason(NULL) == NULL, "reason of NULL");
    EXPECT(strstr(swtls_channel_tls_reason(channel), "mutual") != NULL, "reason '%s'", swtls_channel_tls_reason(channel));

    /* unary: NULLs, a bad method, a real call */
    EXPECT_STATUS(swtls_channel_unary(NULL, KEEPALIVE, PING, sizeof PING, 0, &resp, &resp_len), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_unary(channel, NULL, PING, sizeof PING, 0, &resp, &resp_len), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_unary(channel, KEEPALIVE, NULL, 5, 0, &resp, &resp_len), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_unary(channel, KEEPALIVE, PING, sizeof PING, 0, NULL, &resp_len), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_unary(channel, "keepAlive", PING, sizeof PING, 0, &resp, &resp_len), SWTLS_STATUS_INVALID_METHOD);
    EXPECT(resp == (uint8_t *)0x1 && resp_len == 12345, "outputs untouched on failure");
    EXPECT_STATUS(swtls_channel_unary(channel, KEEPALIVE, PING, sizeof PING, 5000, &resp, &resp_len), SWTLS_STATUS_OK);
    swtls_bytes_free(resp, resp_len);
    EXPECT_STATUS(swtls_channel_unary(channel, KEEPALIVE, NULL, 0, 5000, &resp, &resp_len), SWTLS_STATUS_OK);
    swtls_bytes_free(resp, resp_len);

    /* a client stream: send, finish, finish again, send after finish, free */
    swtls_stream *stream = NULL;
    EXPECT_STATUS(swtls_channel_stream_open(NULL, COLLECT, 0, &stream), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_stream_open(channel, COLLECT, 0, NULL), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_stream_open(channel, "/bad", 0, &stream), SWTLS_STATUS_INVALID_METHOD);
    EXPECT(stream == NULL, "no stream on failure");
    EXPECT_STATUS(swtls_channel_stream_open(channel, COLLECT, 5000, &stream), SWTLS_STATUS_OK);
    EXPECT_STATUS(swtls_stream_send(NULL, PING, sizeof PING), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_stream_send(stream, NULL, 3), SWTLS_STATUS_NULL_ARGUMENT);
    for (int i = 0; i < 10; i++) EXPECT_STATUS(swtls_stream_send(stream, PING, sizeof PING), SWTLS_STATUS_OK);
    EXPECT_STATUS(swtls_stream_finish(NULL, &resp, &resp_len), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_stream_finish(stream, &resp, &resp_len), SWTLS_STATUS_OK);
    swtls_bytes_free(resp, resp_len);
    EXPECT_STATUS(swtls_stream_finish(stream, &resp, &resp_len), SWTLS_STATUS_CLOSED);
    EXPECT_STATUS(swtls_stream_send(stream, PING, sizeof PING), SWTLS_STATUS_CLOSED);
    swtls_stream_free(stream);
    swtls_stream_free(NULL);

    /* an unfinished stream is cancelled by free */
    EXPECT_STATUS(swtls_channel_stream_open(channel, COLLECT, 5000, &stream), SWTLS_STATUS_OK);
    EXPECT_STATUS(swtls_stream_send(stream, PING, sizeof PING), SWTLS_STATUS_OK);
    swtls_stream_free(stream);
}

static void reporter(swtls_channel *channel) {
    swtls_stats stats;
    EXPECT_STATUS(swtls_report(NULL, COLLECT, PING, sizeof PING), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_report(channel, NULL, PING, sizeof PING), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_report(channel, COLLECT, NULL, 4), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_report(channel, "collect", PING, sizeof PING), SWTLS_STATUS_INVALID_METHOD);
    for (int i = 0; i < 100; i++) EXPECT_STATUS(swtls_report(channel, COLLECT, PING, sizeof PING), SWTLS_STATUS_OK);
    EXPECT_STATUS(swtls_channel_flush(NULL, 1000), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_flush(channel, 10000), SWTLS_STATUS_OK);
    EXPECT_STATUS(swtls_channel_stats(NULL, &stats), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_stats(channel, NULL), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_stats(channel, &stats), SWTLS_STATUS_OK);
    EXPECT(stats.queued == 100 && stats.acknowledged == 100, "queued %llu acknowledged %llu",
           (unsigned long long)stats.queued, (unsigned long long)stats.acknowledged);
    EXPECT(stats.queued == stats.acknowledged + stats.dropped_queue_full + stats.dropped_closed +
                               stats.dropped_server_error + stats.pending,
           "the counters' invariant");
    EXPECT(memchr(stats.backend, 0, sizeof stats.backend) != NULL && strchr(stats.backend, ':') != NULL,
           "backend '%s'", stats.backend);
}

static void after_close(swtls_channel *channel) {
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    swtls_stream *stream = NULL;
    swtls_stats stats;
    EXPECT_STATUS(swtls_channel_close(NULL, 1000), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_close(channel, 5000), SWTLS_STATUS_OK);
    EXPECT_STATUS(swtls_channel_close(channel, 5000), SWTLS_STATUS_CLOSED);
    EXPECT_STATUS(swtls_channel_unary(channel, KEEPALIVE, PING, sizeof PING, 1000, &resp, &resp_len), SWTLS_STATUS_CLOSED);
    EXPECT(strstr(swtls_last_error(), "closed") != NULL, "the message says closed");
    EXPECT_STATUS(swtls_channel_stream_open(channel, COLLECT, 1000, &stream), SWTLS_STATUS_CLOSED);
    EXPECT_STATUS(swtls_report(channel, COLLECT, PING, sizeof PING), SWTLS_STATUS_CLOSED);
    EXPECT_STATUS(swtls_channel_flush(channel, 1000), SWTLS_STATUS_CLOSED);
    EXPECT_STATUS(swtls_channel_stats(channel, &stats), SWTLS_STATUS_OK);
    EXPECT(stats.queued == 100 && stats.acknowledged == 100, "final counters kept after close");
}

int main(void) {
    misc();
    swtls_config *config = config_checks();
    swtls_channel *channel = NULL;
    EXPECT_STATUS(swtls_channel_new(NULL, &channel), SWTLS_STATUS_NULL_ARGUMENT);
    EXPECT_STATUS(swtls_channel_new(config, NULL), SWTLS_STATUS_NULL_ARGUMENT);
    swtls_status st = swtls_channel_new(config, &channel);
    swtls_config_free(config);
    if (st != SWTLS_STATUS_OK) {
        fprintf(stderr, "swtls_channel_new: %s: %s\n", swtls_status_name((uint32_t)st), swtls_last_error());
        return 1;
    }
    calls(channel);
    reporter(channel);
    after_close(channel);
    swtls_channel_free(channel);
    swtls_channel_free(NULL);
    EXPECT(log_lines > 0, "the log callback was called");
    EXPECT_STATUS(swtls_set_log_callback(NULL, NULL, SWTLS_LOG_LEVEL_WARN), SWTLS_STATUS_OK);
    if (failures) {
        fprintf(stderr, "api: %d expectation(s) failed\n", failures);
        return 1;
    }
    printf("api: OK\n");
    return 0;
}
