#ifndef SHADOWSYNC_CSTROPHE_H
#define SHADOWSYNC_CSTROPHE_H
/* libstrophe, loaded when the first XMPP context is made (dlopen) instead of when the process starts.
 *
 * Linked the usual way it brought OpenSSL, expat and libresolv into every command's start-up, though
 * only the agent's notifier and `doctor` use XMPP (Docs/BENCHMARKS.md, bench-sync-vs-git.sh; CGit2.h is the
 * same for libgit2). Swift calls the functions through `shadow_strophe_api`, a table of pointers typed
 * from the real declarations in <strophe.h> (__typeof__). ShadowXMPP is the only importer. */
#include <stddef.h>
#include <strophe.h>

/* Every libstrophe function ShadowSync calls. Add a name here to call a new one. */
#define SHADOW_STROPHE_FUNCTIONS(X) \
    X(xmpp_conn_get_bound_jid) \
    X(xmpp_conn_is_secured) \
    X(xmpp_conn_new) \
    X(xmpp_conn_release) \
    X(xmpp_conn_set_cafile) \
    X(xmpp_conn_set_certfail_handler) \
    X(xmpp_conn_set_flags) \
    X(xmpp_conn_set_jid) \
    X(xmpp_conn_set_pass) \
    X(xmpp_conn_set_sockopt_callback) \
    X(xmpp_connect_client) \
    X(xmpp_ctx_free) \
    X(xmpp_ctx_new) \
    X(xmpp_disconnect) \
    X(xmpp_handler_add) \
    X(xmpp_initialize) \
    X(xmpp_run_once) \
    X(xmpp_send) \
    X(xmpp_shutdown) \
    X(xmpp_sockopt_cb_keepalive) \
    X(xmpp_stanza_add_child) \
    X(xmpp_stanza_get_attribute) \
    X(xmpp_stanza_get_child_by_name) \
    X(xmpp_stanza_get_child_by_name_and_ns) \
    X(xmpp_stanza_get_children) \
    X(xmpp_stanza_get_from) \
    X(xmpp_stanza_get_id) \
    X(xmpp_stanza_get_name) \
    X(xmpp_stanza_get_next) \
    X(xmpp_stanza_get_text_ptr) \
    X(xmpp_stanza_get_type) \
    X(xmpp_stanza_is_text) \
    X(xmpp_stanza_new) \
    X(xmpp_stanza_new_from_string) \
    X(xmpp_stanza_release) \
    X(xmpp_stanza_set_attribute) \
    X(xmpp_stanza_set_name) \
    X(xmpp_stanza_set_ns) \
    X(xmpp_stanza_set_text) \
    X(xmpp_tlscert_get_conn) \
    X(xmpp_tlscert_get_ctx) \
    X(xmpp_tlscert_get_string)

struct shadow_strophe {
#define SHADOW_STROPHE_FIELD(name) __typeof__(&name) _Nonnull name;
    SHADOW_STROPHE_FUNCTIONS(SHADOW_STROPHE_FIELD)
#undef SHADOW_STROPHE_FIELD
};

/* The loaded functions. Call nothing through it before shadow_strophe_load returned 0. */
extern const struct shadow_strophe *const _Nonnull shadow_strophe_api;

/* Loads libstrophe and looks up every function in the table. Returns 0, or -1 with the loader's
 * message (NUL-terminated) in `message`. Not thread-safe: call once. */
int shadow_strophe_load(char *_Nonnull message, size_t capacity);

#endif
