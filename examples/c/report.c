/* report FILE COUNT [--async]
 *
 * Sends the bytes of FILE COUNT times to /skywalking.v3.TraceSegmentReportService/collect.
 *
 * Without --async: opens one client stream, sends, finishes it. Prints "sent COUNT" and
 * exits 0 when the server answered OK.
 *
 * With --async: the agent way. Each message goes through swtls_report (queued, never
 * waiting for the network; a full queue drops it and says RESOURCE_EXHAUSTED), then
 * swtls_channel_flush waits for the acknowledgements and swtls_channel_close ends the
 * channel. Prints the counters (swtls_channel_stats) on one line, then
 * "acknowledged N of COUNT", and exits 0 only when all COUNT were acknowledged. */
#include <string.h>
#include "common.h"

#define COLLECT "/skywalking.v3.TraceSegmentReportService/collect"

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf) exit(2);
    *len = n;
    return buf;
}

static int report_async(swtls_channel *channel, const uint8_t *segment, size_t len, long count) {
    long full = 0;
    for (long i = 0; i < count; i++) {
        swtls_status st = swtls_report(channel, COLLECT, segment, len);
        if (st == SWTLS_STATUS_RESOURCE_EXHAUSTED) {
            full++; /* dropped and counted by the library; an agent goes on */
        } else if (st != SWTLS_STATUS_OK) {
            die("swtls_report", st);
        }
    }
    if (full > 0) fprintf(stderr, "%ld message(s) dropped: the report queue was full\n", full);
    swtls_status flushed = swtls_channel_flush(channel, 0);
    if (flushed != SWTLS_STATUS_OK)
        fprintf(stderr, "flush: %s: %s\n", swtls_status_name((uint32_t)flushed), swtls_last_error());
    swtls_status closed = swtls_channel_close(channel, 1000);
    if (closed != SWTLS_STATUS_OK)
        fprintf(stderr, "close: %s: %s\n", swtls_status_name((uint32_t)closed), swtls_last_error());
    swtls_stats stats;
    swtls_status st = swtls_channel_stats(channel, &stats);
    if (st != SWTLS_STATUS_OK) die("swtls_channel_stats", st);
    print_stats(stdout, &stats);
    printf("acknowledged %llu of %ld\n", (unsigned long long)stats.acknowledged, count);
    return flushed == SWTLS_STATUS_OK && stats.acknowledged == (uint64_t)count ? 0 : 1;
}

int main(int argc, char **argv) {
    int async = argc == 4 && strcmp(argv[3], "--async") == 0;
    if (argc != 3 && !async) {
        fprintf(stderr, "usage: %s FILE COUNT [--async]\n", argv[0]);
        return 2;
    }
    char *end = NULL;
    long count = strtol(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0' || count < 0) {
        fprintf(stderr, "COUNT must be a non-negative number, not '%s'\n", argv[2]);
        return 2;
    }
    size_t len = 0;
    uint8_t *segment = read_file(argv[1], &len);

    swtls_channel *channel = channel_from_env();
    if (async) {
        int rc = report_async(channel, segment, len, count);
        swtls_channel_free(channel);
        free(segment);
        return rc;
    }
    swtls_stream *stream = NULL;
    swtls_status st = swtls_channel_stream_open(channel, COLLECT, 0, &stream);
    if (st != SWTLS_STATUS_OK) die("swtls_channel_stream_open", st);
    for (long i = 0; i < count; i++) {
        st = swtls_stream_send(stream, segment, len);
        if (st != SWTLS_STATUS_OK) die("swtls_stream_send", st);
    }
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    st = swtls_stream_finish(stream, &resp, &resp_len);
    if (st != SWTLS_STATUS_OK) die("swtls_stream_finish", st);
    swtls_bytes_free(resp, resp_len);
    swtls_stream_free(stream);
    swtls_channel_free(channel);
    free(segment);
    printf("sent %ld\n", count);
    return 0;
}
