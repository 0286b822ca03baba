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

#if defined(__x86_64__)
#include <immintrin.h>

/* Written here because no library in reach hashes fast: libsodium has no SHA-1, and libgit2's
   collision-detecting SHA-1 runs at the portable rounds' ~230 MB/s against over 1 GB/s for these
   (Docs/BENCHMARKS.md, bench-import.sh). The round sequence of Intel's SHA extensions reference (four rounds per sha1rnds4; the message
   schedule runs three groups ahead through sha1msg1, xor and sha1msg2). */
__attribute__((target("sha,sse4.1,ssse3")))
static void sha1_blocks_ni(unsigned int state[5], const unsigned char *data, unsigned long blocks) {
    const __m128i mask = _mm_set_epi64x(0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state), 0x1B);
    __m128i e0 = _mm_set_epi32((int)state[4], 0, 0, 0);
    __m128i e1, m0, m1, m2, m3;
    for (; blocks > 0; blocks--, data += 64) {
        const __m128i abcd_save = abcd, e0_save = e0;
        m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), mask);
        e0 = _mm_add_epi32(e0, m0);
        e1 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);

        m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), mask);
        e1 = _mm_sha1nexte_epu32(e1, m1);
        e0 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e1, 0);
        m0 = _mm_sha1msg1_epu32(m0, m1);

        m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), mask);
        e0 = _mm_sha1nexte_epu32(e0, m2);
        e1 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
        m1 = _mm_sha1msg1_epu32(m1, m2);
        m0 = _mm_xor_si128(m0, m2);

        m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), mask);
        e1 = _mm_sha1nexte_epu32(e1, m3);
        e0 = abcd;
        m0 = _mm_sha1msg2_epu32(m0, m3);
        abcd = _mm_sha1rnds4_epu32(abcd, e1, 0);
        m2 = _mm_sha1msg1_epu32(m2, m3);
        m1 = _mm_xor_si128(m1, m3);

/* Four rounds with function f; ea takes the next message words, eb saves abcd; then the schedule
   for later rounds: a is finished (msg2 with b), c started (msg1 with b), d gets b xored in. */
#define SHADOW_SHA1_ROUNDS(ea, eb, a, b, c, d, f) \
        ea = _mm_sha1nexte_epu32(ea, b); \
        eb = abcd; \
        a = _mm_sha1msg2_epu32(a, b); \
        abcd = _mm_sha1rnds4_epu32(abcd, ea, f); \
        c = _mm_sha1msg1_epu32(c, b); \
        d = _mm_xor_si128(d, b);

        /* Rounds 16-19 use m0 (finished above); the pattern rotates m0..m3 every four rounds. */
        e0 = _mm_sha1nexte_epu32(e0, m0);
        e1 = abcd;
        m1 = _mm_sha1msg2_epu32(m1, m0);
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
        m3 = _mm_sha1msg1_epu32(m3, m0);
        m2 = _mm_xor_si128(m2, m0);

        SHADOW_SHA1_ROUNDS(e1, e0, m2, m1, m0, m3, 1)   /* 20-23 */
        SHADOW_SHA1_ROUNDS(e0, e1, m3, m2, m1, m0, 1)   /* 24-27 */
        SHADOW_SHA1_ROUNDS(e1, e0, m0, m3, m2, m1, 1)   /* 28-31 */
        SHADOW_SHA1_ROUNDS(e0, e1, m1, m0, m3, m2, 1)   /* 32-35 */
        SHADOW_SHA1_ROUNDS(e1, e0, m2, m1, m0, m3, 1)   /* 36-39 */
        SHADOW_SHA1_ROUNDS(e0, e1, m3, m2, m1, m0, 2)   /* 40-43 */
        SHADOW_SHA1_ROUNDS(e1, e0, m0, m3, m2, m1, 2)   /* 44-47 */
        SHADOW_SHA1_ROUNDS(e0, e1, m1, m0, m3, m2, 2)   /* 48-51 */
        SHADOW_SHA1_ROUNDS(e1, e0, m2, m1, m0, m3, 2)   /* 52-55 */
        SHADOW_SHA1_ROUNDS(e0, e1, m3, m2, m1, m0, 2)   /* 56-59 */
        SHADOW_SHA1_ROUNDS(e1, e0, m0, m3, m2, m1, 3)   /* 60-63 */
#undef SHADOW_SHA1_ROUNDS

        /* 64-67 */
        e0 = _mm_sha1nexte_epu32(e0, m0);
        e1 = abcd;
        m1 = _mm_sha1msg2_epu32(m1, m0);
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 3);
        m3 = _mm_sha1msg1_epu32(m3, m0);
        m2 = _mm_xor_si128(m2, m0);
        /* 68-71 */
        e1 = _mm_sha1nexte_epu32(e1, m1);
        e0 = abcd;
        m2 = _mm_sha1msg2_epu32(m2, m1);
        abcd = _mm_sha1rnds4_epu32(abcd, e1, 3);
        m3 = _mm_xor_si128(m3, m1);
        /* 72-75 */
        e0 = _mm_sha1nexte_epu32(e0, m2);
        e1 = abcd;
        m3 = _mm_sha1msg2_epu32(m3, m2);
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 3);
        /* 76-79 */
        e1 = _mm_sha1nexte_epu32(e1, m3);
        e0 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e1, 3);

        e0 = _mm_sha1nexte_epu32(e0, e0_save);
        abcd = _mm_add_epi32(abcd, abcd_save);
    }
    _mm_storeu_si128((__m128i *)state, _mm_shuffle_epi32(abcd, 0x1B));
    state[4] = (unsigned int)_mm_extract_epi32(e0, 3);
}

int shadow_shim_sha1_blocks(unsigned int state[5], const unsigned char *data, unsigned long blocks) {
    static int available = -1;  /* a benign race: every thread computes the same answer */
    if (available < 0) {
        __builtin_cpu_init();
        available = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
    }
    if (!available) return 0;
    sha1_blocks_ni(state, data, blocks);
    return 1;
}
#else
int shadow_shim_sha1_blocks(unsigned int state[5], const unsigned char *data, unsigned long blocks) {
    (void)state; (void)data; (void)blocks;
    return 0;
}
#endif
