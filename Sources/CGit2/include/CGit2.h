#ifndef SHADOWSYNC_CGIT2_H
#define SHADOWSYNC_CGIT2_H
/* libgit2, loaded when the git thread starts (dlopen) instead of when the process starts.
 *
 * Linked the usual way, libgit2 and the libraries it needs (libssh2, OpenSSL, mbedTLS, Kerberos, PCRE2:
 * 16 shared objects, about 5,500 symbol bindings) cost every command about 5 ms before main, a tenth of
 * a 10k-file no-op sync (Docs/BENCHMARKS.md, bench-sync-vs-git.sh). Loaded by the git thread, that work overlaps
 * the main thread, and a command or pass that never needs libgit2 skips it.
 *
 * Swift calls the functions through `shadow_git2_api`, a table of pointers typed from the real
 * declarations in <git2.h> (__typeof__), so a call through the table is checked as a direct call is.
 * ShadowGit is the only importer; it loads the table once, on the git thread, before any other call. */
#include <stddef.h>
#include <git2.h>

/* Every libgit2 function ShadowSync calls. Add a name here to call a new one. */
#define SHADOW_GIT2_FUNCTIONS(X) \
    X(git_blob_free) \
    X(git_blob_lookup) \
    X(git_blob_rawcontent) \
    X(git_blob_rawsize) \
    X(git_buf_dispose) \
    X(git_checkout_options_init) \
    X(git_checkout_tree) \
    X(git_commit_create_buffer) \
    X(git_commit_create_with_signature) \
    X(git_commit_extract_signature) \
    X(git_commit_free) \
    X(git_commit_lookup) \
    X(git_commit_message_raw) \
    X(git_commit_parent_id) \
    X(git_commit_parentcount) \
    X(git_commit_tree_id) \
    X(git_config_free) \
    X(git_config_get_int64) \
    X(git_config_set_int64) \
    X(git_credential_ssh_key_from_agent) \
    X(git_credential_ssh_key_new) \
    X(git_credential_username_new) \
    X(git_error_last) \
    X(git_fetch_options_init) \
    X(git_graph_descendant_of) \
    X(git_index_add) \
    X(git_index_add_all) \
    X(git_index_free) \
    X(git_index_read_tree) \
    X(git_index_remove_bypath) \
    X(git_index_update_all) \
    X(git_index_write) \
    X(git_index_write_tree) \
    X(git_indexer_append) \
    X(git_indexer_commit) \
    X(git_indexer_free) \
    X(git_indexer_new) \
    X(git_indexer_options_init) \
    X(git_libgit2_init) \
    X(git_libgit2_opts) \
    X(git_merge_base) \
    X(git_object_free) \
    X(git_object_id) \
    X(git_object_lookup) \
    X(git_object_peel) \
    X(git_odb_exists) \
    X(git_odb_exists_ext) \
    X(git_odb_free) \
    X(git_odb_hash) \
    X(git_odb_object_data) \
    X(git_odb_object_free) \
    X(git_odb_object_size) \
    X(git_odb_object_type) \
    X(git_odb_open_wstream) \
    X(git_odb_read) \
    X(git_odb_read_header) \
    X(git_odb_refresh) \
    X(git_odb_stream_finalize_write) \
    X(git_odb_stream_free) \
    X(git_odb_stream_write) \
    X(git_odb_write) \
    X(git_oid_equal) \
    X(git_oid_fromstr) \
    X(git_push_options_init) \
    X(git_reference_create) \
    X(git_reference_create_matching) \
    X(git_reference_free) \
    X(git_reference_name_to_id) \
    X(git_reference_remove) \
    X(git_remote_connect) \
    X(git_remote_create_detached) \
    X(git_remote_create_with_fetchspec) \
    X(git_remote_disconnect) \
    X(git_remote_fetch) \
    X(git_remote_free) \
    X(git_remote_init_callbacks) \
    X(git_remote_lookup) \
    X(git_remote_ls) \
    X(git_remote_push) \
    X(git_remote_set_url) \
    X(git_remote_update_tips) \
    X(git_remote_upload) \
    X(git_remote_url) \
    X(git_repository_config) \
    X(git_repository_free) \
    X(git_repository_index) \
    X(git_repository_init_ext) \
    X(git_repository_init_options_init) \
    X(git_repository_is_bare) \
    X(git_repository_odb) \
    X(git_repository_open_ext) \
    X(git_repository_path) \
    X(git_revparse_single) \
    X(git_revwalk_free) \
    X(git_revwalk_hide) \
    X(git_revwalk_new) \
    X(git_revwalk_next) \
    X(git_revwalk_push) \
    X(git_revwalk_sorting) \
    X(git_signature_free) \
    X(git_signature_new) \
    X(git_tree_entry_byindex) \
    X(git_tree_entry_filemode) \
    X(git_tree_entry_id) \
    X(git_tree_entry_name) \
    X(git_tree_entry_type) \
    X(git_tree_entrycount) \
    X(git_tree_free) \
    X(git_tree_lookup) \
    X(git_tree_entry_bypath) \
    X(git_tree_entry_free) \
    X(git_tree_create_updated)

struct shadow_git2 {
#define SHADOW_GIT2_FIELD(name) __typeof__(&name) _Nonnull name;
    SHADOW_GIT2_FUNCTIONS(SHADOW_GIT2_FIELD)
#undef SHADOW_GIT2_FIELD
};

/* The loaded functions. Call nothing through it before shadow_git2_load returned 0. */
extern const struct shadow_git2 *const _Nonnull shadow_git2_api;

/* Loads libgit2 (the soname of the headers built against) and looks up every function in the table.
 * Returns 0, or -1 with the loader's message (NUL-terminated) in `message`. Not thread-safe: call once. */
int shadow_git2_load(char *_Nonnull message, size_t capacity);

/* git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "") for the system, XDG, global and programdata
 * levels (variadic, so Swift cannot call it): the shadow repository must not read /etc/gitconfig or
 * ~/.gitconfig (insteadOf rules, excludes files, autocrlf would change what is committed). Returns 0 or
 * a libgit2 error code. */
int shadow_git2_isolate_config(void);

/* git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE / GIT_OPT_SET_MWINDOW_MAPPED_LIMIT): libgit2 reads packs
 * through mapped windows it keeps until the mapped total reaches the limit (8 GiB by default on 64-bit),
 * and every page it touched counts in the process's resident memory. Returns 0 or a libgit2 error code. */
int shadow_git2_bound_pack_windows(size_t window_bytes, size_t mapped_limit_bytes);

#endif
