#define _GNU_SOURCE
#include <unistd.h>
#include <malloc.h>
#include <sys/prctl.h>
#include "CShims.h"

int shadow_shim_set_dumpable(int enabled) {
    return prctl(PR_SET_DUMPABLE, enabled ? 1 : 0, 0, 0, 0);
}

int shadow_shim_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

int shadow_shim_syncfs(int fd) {
    return syncfs(fd);
}

int shadow_shim_release_free_memory(void) {
    return malloc_trim(0);
}

long shadow_shim_copy_file_range(int from, int to, unsigned long length) {
    return (long)copy_file_range(from, NULL, to, NULL, length, 0);
}
