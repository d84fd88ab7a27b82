/* Compact streaming SHA-256 (FIPS 180-4) so the C tests can compare what
 * was sent with what came back without pulling in a crypto library. */
#ifndef ZTS_TEST_SHA256_H
#define ZTS_TEST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

typedef struct {
    uint32_t h[8];      /* working hash value H(i) */
    uint64_t total;     /* message length so far, in bytes */
    uint8_t block[64];  /* partial block awaiting compression */
    size_t used;        /* bytes held in block */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN]);

/* Lower-case hex of a digest into out (NUL-terminated). */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN], char out[SHA256_HEX_LEN]);

/* One-shot convenience: hash buf and write its hex form. */
void sha256_hex_of(const void *data, size_t len, char out[SHA256_HEX_LEN]);

#endif
