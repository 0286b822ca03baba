#ifndef SHADOWSYNC_CSHIMS_H
#define SHADOWSYNC_CSHIMS_H
/* Only what Swift cannot call directly: variadic C functions, which Swift marks unavailable.
   Remove a shim when its library grows a non-variadic equivalent. */

/* prctl(PR_SET_DUMPABLE): makes the agent non-dumpable, so no core file and no same-uid ptrace can
   read key material. Returns 0 on success, -1 with errno set. */
int shadow_shim_set_dumpable(int enabled);

/* git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "") for the system, XDG, global and programdata
   levels: the shadow repository must not read /etc/gitconfig or ~/.gitconfig (insteadOf rules,
   excludes files, autocrlf would change what is committed). Returns 0 or a libgit2 error code. */
int shadow_shim_git_isolate_config(void);

/* git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1): objects and refs reach the disk before a ref
   points at them, so a crash never leaves a ref to a missing object. Returns 0 or an error code. */
int shadow_shim_git_enable_fsync(void);

#endif
