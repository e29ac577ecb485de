/* keepalive SERVICE INSTANCE: sends one skywalking.v3.InstancePingPkg to
 * /skywalking.v3.ManagementService/keepAlive. Prints OK and exits 0 on success; otherwise
 * prints the status name and the library's message and exits 1. The message is encoded
 * by hand (put_string, common.h: C has no generated SkyWalking protocol code at hand). */
#include <string.h>
#include "common.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SERVICE INSTANCE\n", argv[0]);
        return 2;
    }
    size_t cap = strlen(argv[1]) + strlen(argv[2]) + 32;
    uint8_t *ping = malloc(cap);
    if (!ping) return 2;
    size_t len = put_string(ping, 0, 1, argv[1]);
    len = put_string(ping, len, 2, argv[2]);

    swtls_channel *channel = channel_from_env();
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    swtls_status st = swtls_channel_unary(channel, "/skywalking.v3.ManagementService/keepAlive",
                                          ping, len, 0, &resp, &resp_len);
    free(ping);
    if (st != SWTLS_STATUS_OK) {
        swtls_channel_free(channel);
        die("keepAlive", st);
    }
    swtls_bytes_free(resp, resp_len);
    swtls_channel_free(channel);
    printf("OK\n");
    return 0;
}
