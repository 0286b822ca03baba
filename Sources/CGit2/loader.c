#include <dlfcn.h>
#include <stdio.h>
#include "CGit2.h"

/* Written only by shadow_git2_load, before any reader exists (the git thread loads, then runs jobs). */
static struct shadow_git2 table;
const struct shadow_git2 *const shadow_git2_api = &table;

/* The soname of the libgit2 whose headers this was compiled against (Debian: libgit2-1.5): its ABI is
 * the one the table's types describe. */
static const char library[] = "libgit2.so." LIBGIT2_SOVERSION;

int shadow_git2_load(char *message, size_t capacity) {
    /* RTLD_LOCAL: libgit2's symbols stay out of the global scope, where they could bind libstrophe's or
     * another library's references. */
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(message, capacity, "%s", dlerror());
        return -1;
    }
#define SHADOW_GIT2_LOOKUP(name) \
    if ((*(void **)&table.name = dlsym(handle, #name)) == NULL) { \
        snprintf(message, capacity, "%s has no function %s", library, #name); \
        return -1; \
    }
    SHADOW_GIT2_FUNCTIONS(SHADOW_GIT2_LOOKUP)
#undef SHADOW_GIT2_LOOKUP
    /* The handle is never closed: the functions stay in use until the process exits. */
    return 0;
}

int shadow_git2_isolate_config(void) {
    const int levels[] = { GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL,
                           GIT_CONFIG_LEVEL_PROGRAMDATA };
    for (unsigned i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        int rc = table.git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
        if (rc < 0) return rc;
    }
    return 0;
}

int shadow_git2_bound_pack_windows(size_t window_bytes, size_t mapped_limit_bytes) {
    int rc = table.git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, window_bytes);
    if (rc < 0) return rc;
    return table.git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, mapped_limit_bytes);
}
