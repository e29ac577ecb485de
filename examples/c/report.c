/* report FILE COUNT: opens one client stream on
 * /skywalking.v3.TraceSegmentReportService/collect, sends the bytes of FILE COUNT times,
 * finishes the stream. Prints "sent COUNT" and exits 0 when the server answered OK. */
#include "common.h"

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

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s FILE COUNT\n", argv[0]);
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
    swtls_stream *stream = NULL;
    swtls_status st = swtls_channel_stream_open(channel, "/skywalking.v3.TraceSegmentReportService/collect", 0, &stream);
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
