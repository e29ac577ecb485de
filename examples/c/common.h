/* Shared by the C examples: build a channel configured exactly as an agent is, from the
 * environment (SW_AGENT_* variables and SWTLS_CA_DIR). */
#ifndef SWTLS_EXAMPLE_COMMON_H
#define SWTLS_EXAMPLE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include "swtls.h"

/* Prints "STATUS_NAME: message" for a failed call and exits 1. */
static void die(const char *what, swtls_status status) {
    fprintf(stdout, "%s: %s\n", swtls_status_name((uint32_t)status), swtls_last_error());
    fprintf(stderr, "%s failed\n", what);
    exit(1);
}

static swtls_channel *channel_from_env(void) {
    swtls_config *config = NULL;
    swtls_channel *channel = NULL;
    swtls_status st = swtls_config_new(&config);
    if (st != SWTLS_STATUS_OK) die("swtls_config_new", st);
    st = swtls_config_load_env(config);
    if (st != SWTLS_STATUS_OK) die("swtls_config_load_env", st);
    st = swtls_channel_new(config, &channel);
    swtls_config_free(config);
    if (st != SWTLS_STATUS_OK) die("swtls_channel_new", st);
    fprintf(stderr, "%s; %s\n", swtls_version(), swtls_channel_tls_reason(channel));
    return channel;
}

#endif
