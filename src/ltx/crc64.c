/*
 * ltx/crc64.c — CRC-64/GO-ISO (Go hash/crc64 with the ISO table), the LTX
 * page checksum and the database rolling checksum (spec 1.9, 1.10).
 *
 * Parameters: reflected polynomial 0xD800000000000000 (normal 0x1B), init and
 * final XOR all ones (Go complements the register before and after), check
 * value crc("123456789") = 0xB90956C775A41001.
 *
 * Two implementations with identical results:
 *  - portable slicing-by-16: 16 tables of 256 entries, table[0] is the
 *    classic byte table, table[k][i] = table[k-1][i] >> 8 ^ table[0][low byte];
 *  - x86-64 carry-less multiplication, chosen at run time: PCLMULQDQ folds
 *    the input 64 bytes at a time into four 128-bit accumulators (AVX-512
 *    VPCLMULQDQ, when present, 256 bytes at a time into four 512-bit ones);
 *    these are folded into one, and the last 16-byte value plus the tail are
 *    finished with the tables. Folding constants are x^n mod P computed once.
 *    LS_LTX_CRC_PORTABLE=1 in the environment forces the table path.
 * Tables and constants are built once under pthread_once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ltx/ltx_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LTX_HAVE_CLMUL 1
#include <immintrin.h>
#endif

#define CRC64_ISO_POLY_REFLECTED 0xD800000000000000ULL
#define CRC64_ISO_POLY_NORMAL 0x000000000000001BULL

static uint64_t crc_tab[16][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static atomic_bool crc_ready; /* fast path around pthread_once */
static bool crc_use_clmul;
static bool crc_use_vclmul; /* AVX-512 VPCLMULQDQ, 4 x 128-bit lanes */

#ifdef LTX_HAVE_CLMUL
/* Folding constants, bit-reflected: fold distance D needs x^(D+63) mod P for
 * the low (earlier, higher-degree) qword and x^(D-1) mod P for the high one
 * (the -1 absorbs the one-bit shift of a reflected carry-less product). */
static uint64_t k_fold128_lo, k_fold128_hi, k_fold512_lo, k_fold512_hi, k_fold2048_lo,
    k_fold2048_hi;

static uint64_t reverse64(uint64_t v) {
    uint64_t r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

/* x^n mod P in normal (non-reflected) bit order. */
static uint64_t xpow_mod(unsigned n) {
    uint64_t v = 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t carry = v >> 63;
        v <<= 1;
        if (carry) v ^= CRC64_ISO_POLY_NORMAL;
    }
    return v;
}
#endif

static void crc_init(void) {
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC64_ISO_POLY_REFLECTED : c >> 1;
        crc_tab[0][i] = c;
    }
    for (unsigned i = 0; i < 256; i++) {
        for (int t = 1; t < 16; t++) {
            uint64_t prev = crc_tab[t - 1][i];
            crc_tab[t][i] = (prev >> 8) ^ crc_tab[0][prev & 0xff];
        }
    }
#ifdef LTX_HAVE_CLMUL
    k_fold128_lo = reverse64(xpow_mod(128 + 63));
    k_fold128_hi = reverse64(xpow_mod(128 - 1));
    k_fold512_lo = reverse64(xpow_mod(512 + 63));
    k_fold512_hi = reverse64(xpow_mod(512 - 1));
    k_fold2048_lo = reverse64(xpow_mod(2048 + 63));
    k_fold2048_hi = reverse64(xpow_mod(2048 - 1));
    const char *env = getenv("LS_LTX_CRC_PORTABLE"); /* test/bench switch */
    __builtin_cpu_init();
    crc_use_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1") &&
                    !(env && *env && *env != '0');
    crc_use_vclmul = crc_use_clmul && __builtin_cpu_supports("avx512f") &&
                     __builtin_cpu_supports("vpclmulqdq");
#endif
    atomic_store_explicit(&crc_ready, true, memory_order_release);
}

static inline void crc_ensure_init(void) {
    if (!atomic_load_explicit(&crc_ready, memory_order_acquire)) pthread_once(&crc_once, crc_init);
}

static inline uint64_t load_le64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Raw register update (no complement). */
static uint64_t crc_tables(uint64_t crc, const uint8_t *p, size_t n) {
    while (n >= 16) {
        uint64_t a = load_le64(p) ^ crc;
        uint64_t b = load_le64(p + 8);
        crc = crc_tab[15][a & 0xff] ^ crc_tab[14][(a >> 8) & 0xff] ^
              crc_tab[13][(a >> 16) & 0xff] ^ crc_tab[12][(a >> 24) & 0xff] ^
              crc_tab[11][(a >> 32) & 0xff] ^ crc_tab[10][(a >> 40) & 0xff] ^
              crc_tab[9][(a >> 48) & 0xff] ^ crc_tab[8][a >> 56] ^ crc_tab[7][b & 0xff] ^
              crc_tab[6][(b >> 8) & 0xff] ^ crc_tab[5][(b >> 16) & 0xff] ^
              crc_tab[4][(b >> 24) & 0xff] ^ crc_tab[3][(b >> 32) & 0xff] ^
              crc_tab[2][(b >> 40) & 0xff] ^ crc_tab[1][(b >> 48) & 0xff] ^
              crc_tab[0][b >> 56];
        p += 16;
        n -= 16;
    }
    while (n--) crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#ifdef LTX_HAVE_CLMUL
__attribute__((target("pclmul,sse4.1"), always_inline)) static inline __m128i fold(__m128i x, __m128i k) {
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

/* Raw register update; n >= 64. */
__attribute__((target("pclmul,sse4.1"))) static uint64_t crc_clmul(uint64_t crc, const uint8_t *p,
                                                                   size_t n) {
    const __m128i k512 = _mm_set_epi64x((long long)k_fold512_hi, (long long)k_fold512_lo);
    const __m128i k128 = _mm_set_epi64x((long long)k_fold128_hi, (long long)k_fold128_lo);
    /* The register XORed into the first 8 bytes = the same CRC with a zero
     * register (reflected CRC, message >= 8 bytes). */
    __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p),
                               _mm_set_epi64x(0, (long long)crc));
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    p += 64;
    n -= 64;
    while (n >= 64) {
        x0 = _mm_xor_si128(fold(x0, k512), _mm_loadu_si128((const __m128i *)p));
        x1 = _mm_xor_si128(fold(x1, k512), _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = _mm_xor_si128(fold(x2, k512), _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = _mm_xor_si128(fold(x3, k512), _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        n -= 64;
    }
    x1 = _mm_xor_si128(fold(x0, k128), x1);
    x2 = _mm_xor_si128(fold(x1, k128), x2);
    x3 = _mm_xor_si128(fold(x2, k128), x3);
    while (n >= 16) {
        x3 = _mm_xor_si128(fold(x3, k128), _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    uint8_t buf[16];
    _mm_storeu_si128((__m128i *)buf, x3);
    crc = crc_tables(0, buf, 16);
    return crc_tables(crc, p, n);
}

#define VCLMUL_TARGET "avx512f,vpclmulqdq,pclmul,sse4.1"

__attribute__((target(VCLMUL_TARGET), always_inline)) static inline __m512i vfold(__m512i z, __m512i k,
                                                                  __m512i data) {
    /* three-way XOR: clmul(lo) ^ clmul(hi) ^ data */
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(z, k, 0x00),
                                     _mm512_clmulepi64_epi128(z, k, 0x11), data, 0x96);
}

/* Same as crc_clmul with four 512-bit accumulators (256 bytes per step),
 * each lane folding its own 16-byte chunk; n >= 256. */
__attribute__((target(VCLMUL_TARGET))) static uint64_t crc_vclmul(uint64_t crc, const uint8_t *p,
                                                                 size_t n) {
    const __m512i k2048 =
        _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k_fold2048_hi, (long long)k_fold2048_lo));
    const __m512i k512 =
        _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k_fold512_hi, (long long)k_fold512_lo));
    const __m128i k128 = _mm_set_epi64x((long long)k_fold128_hi, (long long)k_fold128_lo);
    __m512i z0 = _mm512_xor_si512(_mm512_loadu_si512((const void *)p),
                                  _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)crc));
    __m512i z1 = _mm512_loadu_si512((const void *)(p + 64));
    __m512i z2 = _mm512_loadu_si512((const void *)(p + 128));
    __m512i z3 = _mm512_loadu_si512((const void *)(p + 192));
    p += 256;
    n -= 256;
    while (n >= 256) {
        z0 = vfold(z0, k2048, _mm512_loadu_si512((const void *)p));
        z1 = vfold(z1, k2048, _mm512_loadu_si512((const void *)(p + 64)));
        z2 = vfold(z2, k2048, _mm512_loadu_si512((const void *)(p + 128)));
        z3 = vfold(z3, k2048, _mm512_loadu_si512((const void *)(p + 192)));
        p += 256;
        n -= 256;
    }
    z1 = vfold(z0, k512, z1);
    z2 = vfold(z1, k512, z2);
    z3 = vfold(z2, k512, z3);
    while (n >= 64) {
        z3 = vfold(z3, k512, _mm512_loadu_si512((const void *)p));
        p += 64;
        n -= 64;
    }
    __m128i x = _mm512_extracti32x4_epi32(z3, 0);
    x = _mm_xor_si128(fold(x, k128), _mm512_extracti32x4_epi32(z3, 1));
    x = _mm_xor_si128(fold(x, k128), _mm512_extracti32x4_epi32(z3, 2));
    x = _mm_xor_si128(fold(x, k128), _mm512_extracti32x4_epi32(z3, 3));
    while (n >= 16) {
        x = _mm_xor_si128(fold(x, k128), _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    uint8_t buf[16];
    _mm_storeu_si128((__m128i *)buf, x);
    crc = crc_tables(0, buf, 16);
    return crc_tables(crc, p, n);
}
#endif

uint64_t ltx_crc64_portable(uint64_t crc, const void *p, size_t n) {
    crc_ensure_init();
    return ~crc_tables(~crc, (const uint8_t *)p, n);
}

bool ltx_crc64_accelerated(void) {
    crc_ensure_init();
    return crc_use_clmul;
}

const char *ltx_crc64_impl(void) {
    crc_ensure_init();
    return crc_use_vclmul ? "vpclmulqdq (AVX-512)" : crc_use_clmul ? "pclmulqdq" : "slicing-by-16";
}

uint64_t ltx_crc64(uint64_t crc, const void *p, size_t n) {
    crc_ensure_init();
#ifdef LTX_HAVE_CLMUL
    if (crc_use_vclmul && n >= 256) return ~crc_vclmul(~crc, (const uint8_t *)p, n);
    if (crc_use_clmul && n >= 64) return ~crc_clmul(~crc, (const uint8_t *)p, n);
#endif
    return ~crc_tables(~crc, (const uint8_t *)p, n);
}

uint64_t ltx_page_checksum(uint32_t pgno, const uint8_t *data, uint32_t page_size) {
    uint8_t be[4];
    ltx_put_be32(be, pgno);
    uint64_t crc = ltx_crc64(0, be, 4);
    return LTX_CHECKSUM_FLAG | ltx_crc64(crc, data, page_size);
}

ls_code ltx_db_checksum(const uint8_t *db, size_t len, uint32_t page_size, uint64_t *out,
                        ls_err *err) {
    if (!ltx_page_size_valid(page_size))
        return ls_err_set(err, LS_ERR_INVALID, "database checksum: invalid page size: %u",
                          page_size);
    if (len % page_size)
        return ls_err_set(err, LS_ERR_INVALID,
                          "database checksum: size %zu is not a multiple of the page size %u",
                          len, page_size);
    if (len / page_size > UINT32_MAX)
        return ls_err_set(err, LS_ERR_INVALID, "database checksum: too many pages");
    uint32_t lock = ltx_lock_pgno(page_size);
    uint64_t c = LTX_EMPTY_CHECKSUM;
    uint32_t npages = (uint32_t)(len / page_size);
    for (uint32_t pgno = 1; pgno <= npages; pgno++) {
        if (pgno == lock) continue;
        c = ltx_checksum_fold(c, ltx_page_checksum(pgno, db + (size_t)(pgno - 1) * page_size,
                                                   page_size));
    }
    *out = c;
    return LS_OK;
}

ls_code ltx_db_checksum_reader(ls_reader *r, uint32_t page_size, uint64_t *out,
                               uint32_t *npages, ls_err *err) {
    if (!ltx_page_size_valid(page_size))
        return ls_err_set(err, LS_ERR_INVALID, "database checksum: invalid page size: %u",
                          page_size);
    uint8_t *page = malloc(page_size);
    if (!page) return ls_err_set(err, LS_ERR_NOMEM, "database checksum: out of memory");
    uint32_t lock = ltx_lock_pgno(page_size);
    uint64_t c = LTX_EMPTY_CHECKSUM;
    uint32_t pgno = 0;
    ls_code rc = LS_OK;
    for (;;) {
        size_t got = 0;
        rc = ls_read_full(r, page, page_size, &got, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "database checksum: page %u", pgno + 1);
            break;
        }
        if (got == 0) break;
        if (got != page_size) {
            rc = ls_err_set(err, LS_ERR_FORMAT,
                            "database checksum: partial page %u (%zu of %u bytes)", pgno + 1,
                            got, page_size);
            break;
        }
        if (pgno == UINT32_MAX) {
            rc = ls_err_set(err, LS_ERR_FORMAT, "database checksum: too many pages");
            break;
        }
        pgno++;
        if (pgno != lock) c = ltx_checksum_fold(c, ltx_page_checksum(pgno, page, page_size));
    }
    free(page);
    if (rc != LS_OK) return rc;
    *out = c;
    if (npages) *npages = pgno;
    return LS_OK;
}
