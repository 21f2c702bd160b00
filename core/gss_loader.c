/* The default GSS-API provider: MIT Kerberos' libgssapi_krb5.so.2, dlopen()ed the first time a
 * GSSAPI proxy is used, so programs that never meet one load nothing more (the library does not
 * link it: ldd stays as it was). The few types and calls are declared here from the C bindings
 * (RFC 2744), whose ABI is fixed; no GSS-API headers are needed to build socksify. */
#include "gss.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint32_t OM_uint32;
typedef struct { size_t length; void *value; } gss_buffer_desc;
typedef struct { OM_uint32 length; void *elements; } gss_OID_desc;
typedef void *gss_name_t;
typedef void *gss_ctx_id_t;

#define GSS_S_COMPLETE 0u
#define GSS_S_CONTINUE_NEEDED 1u
#define GSS_ERROR(x) ((x) & 0xffff0000u)
#define GSS_C_MUTUAL_FLAG 2u
#define GSS_C_REPLAY_FLAG 4u
#define GSS_C_SEQUENCE_FLAG 8u
#define GSS_C_INTEG_FLAG 32u
#define GSS_C_GSS_CODE 1
#define GSS_C_MECH_CODE 2
/* Major status routine errors (RFC 2744 section 3.9.1, shifted by 16). */
#define GSS_S_BAD_NAME (2u << 16)
#define GSS_S_NO_CRED (7u << 16)
#define GSS_S_CREDENTIALS_EXPIRED (11u << 16)
#define GSS_S_FAILURE (13u << 16)

/* 1.2.840.113554.1.2.2 (the Kerberos V5 mechanism) and 1.2.840.113554.1.2.2.1 (its principal names). */
static gss_OID_desc krb5_mech = { 9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" };
static gss_OID_desc krb5_name = { 10, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01" };

#define GSS_CALLS(X) \
    X(gss_import_name, OM_uint32, (OM_uint32 *, gss_buffer_desc *, gss_OID_desc *, gss_name_t *)) \
    X(gss_release_name, OM_uint32, (OM_uint32 *, gss_name_t *)) \
    X(gss_init_sec_context, OM_uint32, (OM_uint32 *, void *, gss_ctx_id_t *, gss_name_t, gss_OID_desc *, \
        OM_uint32, OM_uint32, void *, gss_buffer_desc *, gss_OID_desc **, gss_buffer_desc *, OM_uint32 *, \
        OM_uint32 *)) \
    X(gss_delete_sec_context, OM_uint32, (OM_uint32 *, gss_ctx_id_t *, gss_buffer_desc *)) \
    X(gss_wrap, OM_uint32, (OM_uint32 *, gss_ctx_id_t, int, OM_uint32, gss_buffer_desc *, int *, gss_buffer_desc *)) \
    X(gss_unwrap, OM_uint32, (OM_uint32 *, gss_ctx_id_t, gss_buffer_desc *, gss_buffer_desc *, int *, OM_uint32 *)) \
    X(gss_release_buffer, OM_uint32, (OM_uint32 *, gss_buffer_desc *)) \
    X(gss_display_status, OM_uint32, (OM_uint32 *, OM_uint32, int, gss_OID_desc *, OM_uint32 *, gss_buffer_desc *))

#define DECLARE(name, ret, args) ret(*name) args;
static struct { GSS_CALLS(DECLARE) } gss;
#undef DECLARE

#define GSS_LIBRARY "libgssapi_krb5.so.2"
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[160];

/* Loads the library and its calls once; load_error says why not. Never unloaded: contexts of
 * other threads may be using it. */
static void load(void)
{
    void *lib = dlopen(GSS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(load_error, sizeof(load_error), "cannot load %s (install libgssapi-krb5-2): %s", GSS_LIBRARY,
                 why ? why : "unknown error");
        return;
    }
#define RESOLVE(name, ret, args) \
    if (!(*(void **)&gss.name = dlsym(lib, #name))) { \
        snprintf(load_error, sizeof(load_error), "%s has no %s", GSS_LIBRARY, #name); \
        return; \
    }
    GSS_CALLS(RESOLVE)
#undef RESOLVE
}

/* initial-exec: the hooks read it, and reading it must never allocate. */
static __thread bool inside __attribute__((tls_model("initial-exec")));

bool gss_library_active(void)
{
    return inside;
}

struct krb5_client {
    gss_name_t target;
    gss_ctx_id_t ctx;
    gss_buffer_desc token;   /* the last output, owned by the library */
    char principal[512];
};

/* Appends the library's text for status (of type GSS_C_GSS_CODE or GSS_C_MECH_CODE) to err. */
static void append_status(char *err, size_t errsize, OM_uint32 status, int type)
{
    OM_uint32 more = 0, minor;
    do {
        gss_buffer_desc text = { 0, NULL };
        if (GSS_ERROR(gss.gss_display_status(&minor, status, type, &krb5_mech, &more, &text)))
            return;
        size_t used = strlen(err);
        snprintf(err + used, errsize - used, "%s%.*s", used ? ": " : "", (int)text.length, (char *)text.value);
        gss.gss_release_buffer(&minor, &text);
    } while (more);
}

/* Says what failed in words a user acts on, then the library's own. Returns -EACCES. */
static int failure(char *err, size_t errsize, const char *what, OM_uint32 major, OM_uint32 minor)
{
    const char *hint = "";
    OM_uint32 routine = major & 0x00ff0000u;
    if (routine == GSS_S_NO_CRED || routine == GSS_S_CREDENTIALS_EXPIRED)
        hint = "no valid Kerberos ticket (run kinit): ";
    else if (routine == GSS_S_BAD_NAME)
        hint = "bad service principal name: ";
    snprintf(err, errsize, "%s%s failed", hint, what);
    append_status(err, errsize, major, GSS_C_GSS_CODE);
    if (minor)
        append_status(err, errsize, minor, GSS_C_MECH_CODE);
    return -EACCES;
}

static int loader_open_inside(void **out, const char *principal, char *err, size_t errsize)
{
    pthread_once(&load_once, load);
    if (load_error[0]) {
        snprintf(err, errsize, "%s", load_error);
        return -EACCES;
    }
    struct krb5_client *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    snprintf(c->principal, sizeof(c->principal), "%s", principal);
    gss_buffer_desc name = { strlen(c->principal), c->principal };
    OM_uint32 minor = 0, major = gss.gss_import_name(&minor, &name, &krb5_name, &c->target);
    if (GSS_ERROR(major)) {
        free(c);
        return failure(err, errsize, "importing the principal", major, minor);
    }
    *out = c;
    return 0;
}

/* Gives back the previous output token. */
static void drop_token(struct krb5_client *c)
{
    OM_uint32 minor;
    if (c->token.value)
        gss.gss_release_buffer(&minor, &c->token);
    c->token.length = 0;
    c->token.value = NULL;
}

static int loader_step_inside(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                              char *err, size_t errsize)
{
    struct krb5_client *c = ctx;
    drop_token(c);
    gss_buffer_desc input = { in_len, (void *)in };
    OM_uint32 minor = 0, flags = 0;
    OM_uint32 major = gss.gss_init_sec_context(&minor, NULL, &c->ctx, c->target, &krb5_mech,
                                               GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_INTEG_FLAG,
                                               0, NULL, in_len ? &input : NULL, NULL, &c->token, &flags, NULL);
    if (GSS_ERROR(major)) {
        char what[600];
        snprintf(what, sizeof(what), "a context with %s", c->principal);
        return failure(err, errsize, what, major, minor);
    }
    *out = c->token.value;
    *out_len = c->token.length;
    if (major == GSS_S_CONTINUE_NEEDED)
        return 0;
    if (!(flags & GSS_C_MUTUAL_FLAG)) {
        snprintf(err, errsize, "the context with %s lacks mutual authentication", c->principal);
        return -EACCES;
    }
    return 1;
}

/* gss_wrap (without confidentiality) or gss_unwrap of in into c->token, handed out in *out. */
static int protect(struct krb5_client *c, bool wrap, const uint8_t *in, size_t in_len, const uint8_t **out,
                   size_t *out_len, char *err, size_t errsize)
{
    drop_token(c);
    gss_buffer_desc input = { in_len, (void *)in };
    OM_uint32 minor = 0;
    OM_uint32 major = wrap ? gss.gss_wrap(&minor, c->ctx, 0, 0, &input, NULL, &c->token)
                           : gss.gss_unwrap(&minor, c->ctx, &input, &c->token, NULL, NULL);
    if (GSS_ERROR(major))
        return failure(err, errsize, wrap ? "gss_wrap" : "gss_unwrap", major, minor);
    *out = c->token.value;
    *out_len = c->token.length;
    return 0;
}

static int loader_wrap_inside(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                              char *err, size_t errsize)
{
    return protect(ctx, true, in, in_len, out, out_len, err, errsize);
}

static int loader_unwrap_inside(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                                char *err, size_t errsize)
{
    return protect(ctx, false, in, in_len, out, out_len, err, errsize);
}

static void loader_close_inside(void *ctx)
{
    struct krb5_client *c = ctx;
    OM_uint32 minor;
    drop_token(c);
    if (c->ctx)
        gss.gss_delete_sec_context(&minor, &c->ctx, NULL);
    if (c->target)
        gss.gss_release_name(&minor, &c->target);
    free(c);
}

/* Each call runs with `inside` set (nested calls cannot happen: the library never calls back). */
static int loader_open(void **out, const char *principal, char *err, size_t errsize)
{
    inside = true;
    int r = loader_open_inside(out, principal, err, errsize);
    inside = false;
    return r;
}

#define TOKEN_CALL(name) \
    static int name(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len, char *err, \
                    size_t errsize) \
    { \
        inside = true; \
        int r = name##_inside(ctx, in, in_len, out, out_len, err, errsize); \
        inside = false; \
        return r; \
    }
TOKEN_CALL(loader_step)
TOKEN_CALL(loader_wrap)
TOKEN_CALL(loader_unwrap)

static void loader_close(void *ctx)
{
    inside = true;
    loader_close_inside(ctx);
    inside = false;
}

const struct gss_provider gss_loader = { loader_open, loader_step, loader_wrap, loader_unwrap, loader_close };
