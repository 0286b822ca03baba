#ifndef SHADOWSYNC_CSHIMS_H
#define SHADOWSYNC_CSHIMS_H
/* Only what Swift cannot call directly: variadic C functions, which Swift marks unavailable, and
   glibc functions declared only under _GNU_SOURCE, which Swift's Glibc module does not define.
   Remove a shim when its library grows a callable equivalent. */

/* prctl(PR_SET_DUMPABLE): makes the agent non-dumpable, so no core file and no same-uid ptrace can
   read key material. Returns 0 on success, -1 with errno set. */
int shadow_shim_set_dumpable(int enabled);

/* prctl(PR_SET_NAME): names the calling thread for ps -T and top -H (the kernel keeps 15 bytes);
   pthread_setname_np is declared only under _GNU_SOURCE. Returns 0, or -1 with errno set. */
int shadow_shim_set_thread_name(const char *name);

/* syncfs(2): flush the whole file system holding fd (git's batch fsync: one flush per ref update
   instead of one fsync per object). Returns 0, or -1 with errno set. */
int shadow_shim_syncfs(int fd);

/* malloc_trim(0) (<malloc.h>, not in Swift's Glibc module): hand the heap's free pages back to the
   kernel. The daemon calls it after a pass, whose scan of a large folder leaves megabytes free but
   mapped. Returns 1 if memory was released. */
int shadow_shim_release_free_memory(void);

/* copy_file_range(2) of up to `length` bytes from the current offsets: an in-kernel copy (a reflink on
   file systems that share extents). Returns the bytes copied, 0 at end of file, or -1 with errno set. */
long shadow_shim_copy_file_range(int from, int to, unsigned long length);

/* SHA-1's compression of `blocks` 64-byte blocks into `state` (h0..h4) with the x86 SHA extensions,
   which Swift cannot reach (compiler intrinsics): a git pack's trailer and its objects' ids hash every
   byte of an import, and the portable rounds ran at about 230 MB/s. Returns 1 when done, 0 (state
   untouched) when the CPU lacks the extensions; the caller then runs the portable rounds. */
int shadow_shim_sha1_blocks(unsigned int state[5], const unsigned char *data, unsigned long blocks);

#endif
