/* The GSS-API calls the SOCKS5 GSSAPI method (RFC 1961) needs, behind a table of function
 * pointers: the core never links a GSS-API library. The default provider (gss_loader.c) dlopen()s
 * libgssapi_krb5 the first time a GSSAPI proxy is used; unit tests and fuzzers install a fake.
 * Every call may block (the Kerberos library may ask a KDC for a service ticket). Errors are
 * -errno (EACCES for anything that means "not authenticated") with a text in err for the log. */
#ifndef SOCKSIFY_GSS_H
#define SOCKSIFY_GSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gss_provider {
    /* Prepares a client context towards the Kerberos principal, e.g. rcmd/proxy.example.
     * Returns 0 with *ctx set, or -errno (-EACCES: no library, bad name). */
    int (*open)(void **ctx, const char *principal, char *err, size_t errsize);
    /* One round of context establishment (gss_init_sec_context with mutual authentication):
     * in is the proxy's token (in_len 0 on the first call). Sets *out and *out_len to the token to
     * send (maybe empty; owned by ctx until its next call). Returns 1 when the context is
     * established, 0 when a token from the proxy is needed next, or -errno. */
    int (*step)(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                char *err, size_t errsize);
    /* gss_wrap without confidentiality of in; *out owned by ctx until its next call. 0 or -errno. */
    int (*wrap)(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                char *err, size_t errsize);
    /* gss_unwrap of in; *out owned by ctx until its next call. 0 or -errno. */
    int (*unwrap)(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                  char *err, size_t errsize);
    /* Releases ctx and everything it owns. */
    void (*close)(void *ctx);
};

/* The provider GSSAPI proxies are authenticated with: the one set by gss_provider_set, else the
 * dlopen() one of gss_loader.c. */
const struct gss_provider *gss_provider(void);
/* Replaces the provider (NULL: back to the default); for tests. Not thread-safe: call it first. */
void gss_provider_set(const struct gss_provider *p);
/* True while this thread is inside the GSS-API library (or loading it). Its own connections and
 * lookups (to the KDC, for a service ticket) are socksify's business like the connection to the
 * proxy: the library's hooks pass them straight to libc instead of routing them through the
 * proxy being authenticated to, which would recurse. */
bool gss_library_active(void);
/* The provider that dlopen()s libgssapi_krb5.so.2 on first use (gss_loader.c). */
extern const struct gss_provider gss_loader;

#endif
