/* codec.c - strict RFC 4648 base64 / base64url / base32 and hex. */
#include "common/codec.h"

#include <stdint.h>
#include <string.h>

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b32_lower[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b32_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Reverse alphabets: the value + 1 of each character, 0 for a character not in it. */
static const unsigned char b64_std_rev[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64};
static const unsigned char b64_url_rev[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64};
static const unsigned char b32_lower_rev[256] = {
    ['a'] = 1,  ['b'] = 2,  ['c'] = 3,  ['d'] = 4,  ['e'] = 5,  ['f'] = 6,  ['g'] = 7,  ['h'] = 8,
    ['i'] = 9,  ['j'] = 10, ['k'] = 11, ['l'] = 12, ['m'] = 13, ['n'] = 14, ['o'] = 15, ['p'] = 16,
    ['q'] = 17, ['r'] = 18, ['s'] = 19, ['t'] = 20, ['u'] = 21, ['v'] = 22, ['w'] = 23, ['x'] = 24,
    ['y'] = 25, ['z'] = 26, ['2'] = 27, ['3'] = 28, ['4'] = 29, ['5'] = 30, ['6'] = 31, ['7'] = 32};
static const unsigned char b32_upper_rev[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['2'] = 27, ['3'] = 28, ['4'] = 29, ['5'] = 30, ['6'] = 31, ['7'] = 32};

/*
 * Generic RFC 4648 codec over groups of `bits` bits per character (6 for base64, 5 for
 * base32): a group of `gbytes` bytes maps to `gchars` characters.
 */
struct codec_alpha {
    const char *ca_chars;        /* the alphabet */
    const unsigned char *ca_rev; /* its reverse (the *_rev table) */
    unsigned ca_bits;            /* bits per character */
    unsigned ca_gbytes;          /* bytes per full group */
    unsigned ca_gchars;          /* characters per full group */
};

static size_t codec_encoded_len(const struct codec_alpha *al, size_t n, int pad)
{
    size_t full = n / al->ca_gbytes, rem = n % al->ca_gbytes;

    if (pad)
        return (full + (rem != 0)) * al->ca_gchars;
    return full * al->ca_gchars + (rem * 8 + al->ca_bits - 1) / al->ca_bits;
}

static enum err codec_encode(const struct codec_alpha *al, char *out, size_t cap, size_t *outlen,
                             const unsigned char *in, size_t n, int pad)
{
    size_t need, o = 0, i;
    unsigned acc = 0, nbits = 0, mask = (1u << al->ca_bits) - 1;

    if (outlen)
        *outlen = 0;
    if (n > (SIZE_MAX - 16) / 2)
        return ERR_TOO_LARGE;
    need = codec_encoded_len(al, n, pad);
    if (cap == 0 || need > cap - 1)
        return ERR_TOO_LARGE;
    i = 0;
    if (al->ca_bits == 6) /* base64: whole groups of 3 bytes to 4 characters at once */
        for (; i + 3 <= n; i += 3) {
            uint32_t g = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

            out[o++] = al->ca_chars[g >> 18];
            out[o++] = al->ca_chars[(g >> 12) & 63];
            out[o++] = al->ca_chars[(g >> 6) & 63];
            out[o++] = al->ca_chars[g & 63];
        }
    for (; i < n; i++) {
        acc = (acc << 8) | in[i];
        nbits += 8;
        while (nbits >= al->ca_bits) {
            nbits -= al->ca_bits;
            out[o++] = al->ca_chars[(acc >> nbits) & mask];
        }
        acc &= (1u << nbits) - 1;
    }
    if (nbits)
        out[o++] = al->ca_chars[(acc << (al->ca_bits - nbits)) & mask];
    while (pad && o < need)
        out[o++] = '=';
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return ERR_OK;
}

/* Valid lengths of the final partial group (in characters), without padding. */
static int codec_tail_ok(const struct codec_alpha *al, size_t tail)
{
    size_t bytes;

    if (tail == 0)
        return 1;
    bytes = tail * al->ca_bits / 8;
    /* The tail must be the shortest encoding of `bytes` bytes. */
    return bytes > 0 && bytes < al->ca_gbytes &&
           (bytes * 8 + al->ca_bits - 1) / al->ca_bits == tail;
}

static enum err codec_decode(const struct codec_alpha *al, unsigned char *out, size_t cap,
                             size_t *outlen, const char *s, size_t len, unsigned flags)
{
    size_t data = len, npad = 0, o = 0, i;
    unsigned acc = 0, nbits = 0;
    enum err rc = ERR_BAD_INPUT;

    *outlen = 0;
    while (data > 0 && s[data - 1] == '=') {
        data--;
        npad++;
    }
    if (npad) {
        if (!(flags & (CODEC_PAD | CODEC_PAD_OPTIONAL)))
            goto out;
        if (len % al->ca_gchars != 0 || npad >= al->ca_gchars)
            goto out;
    } else if ((flags & CODEC_PAD) && len % al->ca_gchars != 0) {
        goto out;
    }
    if (!codec_tail_ok(al, data % al->ca_gchars))
        goto out;
    /* With padding, the padding must complete exactly the final group. */
    if (npad && (data % al->ca_gchars) + npad != al->ca_gchars)
        goto out;
    if (data * al->ca_bits / 8 > cap) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    i = 0;
    if (al->ca_bits == 6) /* base64: whole groups of 4 characters to 3 bytes at once */
        for (; i + 4 <= data; i += 4) {
            unsigned a = al->ca_rev[(unsigned char)s[i]], b = al->ca_rev[(unsigned char)s[i + 1]],
                     c = al->ca_rev[(unsigned char)s[i + 2]],
                     d = al->ca_rev[(unsigned char)s[i + 3]];
            uint32_t g;

            if (!a || !b || !c || !d)
                goto out;
            g = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
            out[o++] = (unsigned char)(g >> 16);
            out[o++] = (unsigned char)(g >> 8);
            out[o++] = (unsigned char)g;
        }
    for (; i < data; i++) {
        int v = (int)al->ca_rev[(unsigned char)s[i]] - 1;

        if (v < 0)
            goto out;
        acc = (acc << al->ca_bits) | (unsigned)v;
        nbits += al->ca_bits;
        if (nbits >= 8) {
            nbits -= 8;
            out[o++] = (unsigned char)(acc >> nbits);
            acc &= (1u << nbits) - 1;
        }
    }
    if (acc != 0) /* non-canonical: leftover bits must be zero */
        goto out;
    *outlen = o;
    rc = ERR_OK;
out:
    if (rc != ERR_OK) {
        explicit_bzero(out, o < cap ? o : cap);
        *outlen = 0;
    }
    return rc;
}

/* Length of base64 text for n bytes. */
size_t codec_b64_encoded_len(size_t n, int pad)
{
    static const struct codec_alpha al = {b64_std, b64_std_rev, 6, 3, 4};
    return codec_encoded_len(&al, n, pad);
}

/* Upper bound of decoded bytes for len characters of base64. */
size_t codec_b64_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

/* Encodes base64 / base64url. */
enum err codec_b64_encode(char *out, size_t cap, size_t *outlen, const void *in, size_t n,
                          unsigned flags)
{
    struct codec_alpha al = {(flags & CODEC_B64_URL) ? b64_url : b64_std, NULL, 6, 3, 4};
    return codec_encode(&al, out, cap, outlen, in, n, (flags & CODEC_PAD) != 0);
}

/* Decodes base64 / base64url; see codec.h. */
enum err codec_b64_decode(unsigned char *out, size_t cap, size_t *outlen, const char *s, size_t len,
                          unsigned flags)
{
    struct codec_alpha al = {b64_std, b64_std_rev, 6, 3, 4};
    int has_std = 0, has_url = 0, url;
    size_t i;

    *outlen = 0;
    if (!(flags & (CODEC_B64_STD | CODEC_B64_URL)))
        return ERR_BAD_INPUT;
    if ((flags & CODEC_B64_STD) && (flags & CODEC_B64_URL)) {
        /* both allowed: the text's characters choose, and may not mix them */
        for (i = 0; i < len; i++) {
            has_std |= s[i] == '+' || s[i] == '/';
            has_url |= s[i] == '-' || s[i] == '_';
        }
        if (has_std && has_url)
            return ERR_BAD_INPUT;
        url = has_url;
    } else {
        url = !(flags & CODEC_B64_STD); /* one alphabet: its table refuses the other's */
    }
    if (url) {
        al.ca_chars = b64_url;
        al.ca_rev = b64_url_rev;
    }
    return codec_decode(&al, out, cap, outlen, s, len, flags);
}

/* Length of base32 text for n bytes. */
size_t codec_b32_encoded_len(size_t n, int pad)
{
    static const struct codec_alpha al = {b32_lower, b32_lower_rev, 5, 5, 8};
    return codec_encoded_len(&al, n, pad);
}

/* Encodes base32. */
enum err codec_b32_encode(char *out, size_t cap, size_t *outlen, const void *in, size_t n,
                          unsigned flags)
{
    struct codec_alpha al = {(flags & CODEC_B32_UPPER) ? b32_upper : b32_lower, NULL, 5, 5, 8};
    return codec_encode(&al, out, cap, outlen, in, n, (flags & CODEC_PAD) != 0);
}

/* Decodes base32; see codec.h. */
enum err codec_b32_decode(unsigned char *out, size_t cap, size_t *outlen, const char *s, size_t len,
                          unsigned flags)
{
    struct codec_alpha al = {(flags & CODEC_B32_UPPER) ? b32_upper : b32_lower,
                             (flags & CODEC_B32_UPPER) ? b32_upper_rev : b32_lower_rev, 5, 5, 8};
    int has_lower = 0, has_upper = 0;
    size_t i;

    *outlen = 0;
    if (flags & CODEC_B32_ANYCASE) {
        for (i = 0; i < len; i++) {
            has_lower |= s[i] >= 'a' && s[i] <= 'z';
            has_upper |= s[i] >= 'A' && s[i] <= 'Z';
        }
        if (has_lower && has_upper)
            return ERR_BAD_INPUT;
        al.ca_chars = has_upper ? b32_upper : b32_lower;
        al.ca_rev = has_upper ? b32_upper_rev : b32_lower_rev;
    }
    return codec_decode(&al, out, cap, outlen, s, len, flags);
}

/* Encodes lowercase hex. */
enum err codec_hex_encode(char *out, size_t cap, const void *in, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = in;
    size_t i;

    if (n > (SIZE_MAX - 1) / 2 || cap < 2 * n + 1)
        return ERR_TOO_LARGE;
    for (i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 0xf];
    }
    out[2 * n] = '\0';
    return ERR_OK;
}

/* Returns the value of hex digit c, or -1. */
int codec_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex. */
enum err codec_hex_decode(unsigned char *out, size_t cap, size_t *outlen, const char *s, size_t len)
{
    size_t i;

    *outlen = 0;
    if (len % 2)
        return ERR_BAD_INPUT;
    if (len / 2 > cap)
        return ERR_TOO_LARGE;
    for (i = 0; i < len / 2; i++) {
        int hi = codec_hex_digit(s[2 * i]), lo = codec_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            explicit_bzero(out, i);
            return ERR_BAD_INPUT;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *outlen = len / 2;
    return ERR_OK;
}
