#include <sys/prctl.h>
#include "CShims.h"

int shadow_shim_set_dumpable(int enabled) {
    return prctl(PR_SET_DUMPABLE, enabled ? 1 : 0, 0, 0, 0);
}
