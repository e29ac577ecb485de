/* Helpers of the Go binding; see swtls_go.h. */
#include <stdlib.h>
#include <string.h>
#include "swtls_go.h"
#include "_cgo_export.h"

static char *last_error(swtls_status st) {
    if (st == SWTLS_STATUS_OK) return NULL;
    const char *m = swtls_last_error();
    return strdup(m ? m : "");
}

/* A NUL-terminated copy of (p, n): in buf when it fits, else malloc'd (NULL when out of
 * memory). Release with free_cstr. */
static char *cstr(char *buf, size_t buf_len, const char *p, size_t n) {
    char *s = n < buf_len ? buf : malloc(n + 1);
    if (s == NULL) return NULL;
    if (n > 0) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static void free_cstr(char *s, const char *buf) {
    if (s != buf) free(s);
}

static swtls_status out_of_memory(char **err) {
    *err = strdup("out of memory copying a string argument");
    return SWTLS_STATUS_INVALID_PARAMETER;
}

swtls_status swtls_go_config_new(swtls_config **out, char **err) {
    swtls_status st = swtls_config_new(out);
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_config_set(const swtls_config *c, const char *key, size_t key_len, const char *value,
                                 size_t value_len, char **err) {
    char kbuf[128], vbuf[512];
    char *k = cstr(kbuf, sizeof kbuf, key, key_len);
    char *v = cstr(vbuf, sizeof vbuf, value, value_len);
    swtls_status st;
    if (k == NULL || v == NULL) {
        st = out_of_memory(err);
    } else {
        st = swtls_config_set(c, k, v);
        *err = last_error(st);
    }
    if (k != NULL) free_cstr(k, kbuf);
    if (v != NULL) free_cstr(v, vbuf);
    return st;
}

swtls_status swtls_go_config_load_env(const swtls_config *c, char **err) {
    swtls_status st = swtls_config_load_env(c);
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_channel_new(const swtls_config *c, swtls_channel **out, swtls_tls_mode *mode, char **reason,
                                  char **err) {
    swtls_status st = swtls_channel_new(c, out);
    *err = last_error(st);
    if (st == SWTLS_STATUS_OK) {
        swtls_channel_tls_mode(*out, mode);
        const char *r = swtls_channel_tls_reason(*out);
        *reason = strdup(r ? r : "");
    }
    return st;
}

swtls_status swtls_go_stream_send(swtls_stream *s, const uint8_t *msg, size_t len, char **err) {
    swtls_status st = swtls_stream_send(s, msg, len);
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_stream_finish(swtls_stream *s, uint8_t **resp, size_t *resp_len, char **err) {
    swtls_status st = swtls_stream_finish(s, resp, resp_len);
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_call_options_new(swtls_call_options **out, char **err) {
    swtls_status st = swtls_call_options_new(out);
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_call_options_add_metadata(const swtls_call_options *o, const char *key, size_t key_len,
                                                const uint8_t *value, size_t value_len, char **err) {
    char buf[128];
    char *k = cstr(buf, sizeof buf, key, key_len);
    if (k == NULL) return out_of_memory(err);
    swtls_status st = swtls_call_options_add_metadata(o, k, value, value_len);
    *err = last_error(st);
    free_cstr(k, buf);
    return st;
}

swtls_status swtls_go_call_options_cancel_new(const swtls_call_options *o, swtls_cancel **out, char **err) {
    swtls_status st = swtls_cancel_new(out);
    if (st == SWTLS_STATUS_OK) {
        st = swtls_call_options_set_cancel(o, *out);
        if (st != SWTLS_STATUS_OK) {
            *err = last_error(st);
            swtls_cancel_free(*out);
            *out = NULL;
            return st;
        }
    }
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_unary_with(const swtls_channel *ch, const char *method, size_t method_len, const uint8_t *req,
                                 size_t req_len, uint32_t timeout_ms, const swtls_call_options *o, uint8_t **resp,
                                 size_t *resp_len, char **err) {
    char buf[256];
    char *m = cstr(buf, sizeof buf, method, method_len);
    if (m == NULL) return out_of_memory(err);
    swtls_status st = swtls_channel_unary_with(ch, m, req, req_len, timeout_ms, o, resp, resp_len);
    *err = last_error(st);
    free_cstr(m, buf);
    return st;
}

swtls_status swtls_go_stream_open_with(const swtls_channel *ch, const char *method, size_t method_len,
                                       uint32_t timeout_ms, const swtls_call_options *o, swtls_stream **out,
                                       char **err) {
    char buf[256];
    char *m = cstr(buf, sizeof buf, method, method_len);
    if (m == NULL) return out_of_memory(err);
    swtls_status st = swtls_channel_stream_open_with(ch, m, timeout_ms, o, out);
    *err = last_error(st);
    free_cstr(m, buf);
    return st;
}

swtls_status swtls_go_connectivity(const swtls_channel *ch, int try_to_connect, swtls_connectivity *out, char **err) {
    swtls_status st = swtls_channel_connectivity(ch, try_to_connect != 0, out);
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_report(const swtls_channel *ch, const char *method, size_t method_len, const uint8_t *msg,
                             size_t len, char **err) {
    char buf[256];
    char *m = cstr(buf, sizeof buf, method, method_len);
    if (m == NULL) return out_of_memory(err);
    swtls_status st = swtls_report(ch, m, msg, len);
    *err = last_error(st);
    free_cstr(m, buf);
    return st;
}

swtls_status swtls_go_flush(const swtls_channel *ch, uint32_t timeout_ms, char **err) {
    swtls_status st = swtls_channel_flush(ch, timeout_ms);
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_close(const swtls_channel *ch, uint32_t timeout_ms, char **err) {
    swtls_status st = swtls_channel_close(ch, timeout_ms);
    *err = last_error(st);
    return st;
}

swtls_status swtls_go_stats(const swtls_channel *ch, swtls_stats *out, char **err) {
    swtls_status st = swtls_channel_stats(ch, out);
    *err = last_error(st);
    return st;
}

/* The library's callback takes a const message; the exported Go function (log.go) a char *. */
static void log_trampoline(void *userdata, swtls_log_level level, const char *message, size_t len) {
    (void)userdata;
    swtlsGoLog((int)level, (char *)message, len);
}

swtls_status swtls_go_set_log(int enable, uint32_t max_level, char **err) {
    swtls_status st = swtls_set_log_callback(enable ? log_trampoline : NULL, NULL, max_level);
    *err = last_error(st);
    return st;
}
