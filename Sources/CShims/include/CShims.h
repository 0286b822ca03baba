#ifndef SHADOWSYNC_CSHIMS_H
#define SHADOWSYNC_CSHIMS_H
/* Only what Swift cannot call directly. Each function says why it exists. */

/* prctl() is variadic, and Swift marks variadic C functions unavailable.
   Used to make the agent non-dumpable: no core file and no same-uid ptrace can read key material.
   Returns 0 on success, -1 with errno set. */
int shadow_shim_set_dumpable(int enabled);

#endif
