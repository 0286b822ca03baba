#include <dlfcn.h>
#include <stdio.h>
#include "CStrophe.h"

/* Written only by shadow_strophe_load, which ShadowXMPP runs once before any call through the table. */
static struct shadow_strophe table;
const struct shadow_strophe *const shadow_strophe_api = &table;

/* libstrophe's soname since 0.9 (Debian: libstrophe0); its header carries no version macro to build
 * it from. */
static const char library[] = "libstrophe.so.0";

int shadow_strophe_load(char *message, size_t capacity) {
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(message, capacity, "%s", dlerror());
        return -1;
    }
#define SHADOW_STROPHE_LOOKUP(name) \
    if ((*(void **)&table.name = dlsym(handle, #name)) == NULL) { \
        snprintf(message, capacity, "%s has no function %s", library, #name); \
        return -1; \
    }
    SHADOW_STROPHE_FUNCTIONS(SHADOW_STROPHE_LOOKUP)
#undef SHADOW_STROPHE_LOOKUP
    /* The handle is never closed: the functions stay in use until the process exits. */
    return 0;
}
