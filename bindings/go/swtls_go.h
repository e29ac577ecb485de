/* Helpers of the Go binding (swtls_go.c): each makes one library call and, when it fails,
 * copies the thread's swtls_last_error() into *err (malloc'd; Go frees it) within the same
 * C call, so the message is read on the OS thread that failed before any other call can
 * replace it. Strings come from Go as (pointer, length) and are copied into NUL-terminated
 * buffers. */
#ifndef SWTLS_GO_H
#define SWTLS_GO_H

#include <stddef.h>
#include <stdint.h>
#include "swtls.h"

swtls_status swtls_go_config_new(swtls_config **out, char **err);
swtls_status swtls_go_config_set(const swtls_config *c, const char *key, size_t key_len, const char *value,
                                 size_t value_len, char **err);
swtls_status swtls_go_config_load_env(const swtls_config *c, char **err);
/* On success also writes the mode and a malloc'd copy of the reason. */
swtls_status swtls_go_channel_new(const swtls_config *c, swtls_channel **out, swtls_tls_mode *mode, char **reason,
                                  char **err);
swtls_status swtls_go_stream_send(swtls_stream *s, const uint8_t *msg, size_t len, char **err);
/* Finishes the stream (Go releases it with swtls_stream_free). */
swtls_status swtls_go_stream_finish(swtls_stream *s, uint8_t **resp, size_t *resp_len, char **err);
/* Call options (call.go): metadata, and the calls that take options (NULL: none). */
swtls_status swtls_go_call_options_new(swtls_call_options **out, char **err);
swtls_status swtls_go_call_options_add_metadata(const swtls_call_options *o, const char *key, size_t key_len,
                                                const uint8_t *value, size_t value_len, char **err);
/* Makes a cancellation flag and attaches it to the options. */
swtls_status swtls_go_call_options_cancel_new(const swtls_call_options *o, swtls_cancel **out, char **err);
swtls_status swtls_go_unary_with(const swtls_channel *ch, const char *method, size_t method_len, const uint8_t *req,
                                 size_t req_len, uint32_t timeout_ms, const swtls_call_options *o, uint8_t **resp,
                                 size_t *resp_len, char **err);
swtls_status swtls_go_stream_open_with(const swtls_channel *ch, const char *method, size_t method_len,
                                       uint32_t timeout_ms, const swtls_call_options *o, swtls_stream **out,
                                       char **err);
swtls_status swtls_go_connectivity(const swtls_channel *ch, int try_to_connect, swtls_connectivity *out, char **err);
swtls_status swtls_go_report(const swtls_channel *ch, const char *method, size_t method_len, const uint8_t *msg,
                             size_t len, char **err);
swtls_status swtls_go_flush(const swtls_channel *ch, uint32_t timeout_ms, char **err);
swtls_status swtls_go_close(const swtls_channel *ch, uint32_t timeout_ms, char **err);
swtls_status swtls_go_stats(const swtls_channel *ch, swtls_stats *out, char **err);
/* enable 0 restores the library's default logging (stderr). */
swtls_status swtls_go_set_log(int enable, uint32_t max_level, char **err);

#endif
