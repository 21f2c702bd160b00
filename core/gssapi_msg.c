#include "gssapi_msg.h"

#include <errno.h>
#include <string.h>

int gssapi_header_encode(uint8_t *buf, size_t size, uint8_t mtyp, size_t token_len)
{
    if ((mtyp != GSSAPI_MTYP_CONTEXT && mtyp != GSSAPI_MTYP_PROTECTION) || token_len > GSSAPI_TOKEN_MAX)
        return -EINVAL;
    if (size < GSSAPI_HEADER_LEN)
        return -ENOSPC;
    buf[0] = GSSAPI_MSG_VERSION;
    buf[1] = mtyp;
    buf[2] = (uint8_t)(token_len >> 8);
    buf[3] = (uint8_t)token_len;
    return GSSAPI_HEADER_LEN;
}

int gssapi_msg_encode(uint8_t *buf, size_t size, uint8_t mtyp, const uint8_t *token, size_t token_len)
{
    int r = gssapi_header_encode(buf, size, mtyp, token_len);
    if (r < 0)
        return r;
    if (size - GSSAPI_HEADER_LEN < token_len)
        return -ENOSPC;
    if (token_len)
        memcpy(buf + GSSAPI_HEADER_LEN, token, token_len);
    return (int)(GSSAPI_HEADER_LEN + token_len);
}

int gssapi_abort_encode(uint8_t *buf, size_t size)
{
    if (size < GSSAPI_ABORT_LEN)
        return -ENOSPC;
    buf[0] = GSSAPI_MSG_VERSION;
    buf[1] = GSSAPI_MTYP_ABORT;
    return GSSAPI_ABORT_LEN;
}

int gssapi_msg_decode(const uint8_t *buf, size_t len, struct gssapi_msg *out, size_t *need)
{
    *need = GSSAPI_ABORT_LEN;
    if (len >= 1 && buf[0] != GSSAPI_MSG_VERSION)
        return -EPROTO;
    if (len < GSSAPI_ABORT_LEN)
        return 0;
    uint8_t mtyp = buf[1];
    if (mtyp == GSSAPI_MTYP_ABORT) {
        out->mtyp = mtyp;
        out->token = NULL;
        out->token_len = 0;
        return GSSAPI_ABORT_LEN;
    }
    if (mtyp != GSSAPI_MTYP_CONTEXT && mtyp != GSSAPI_MTYP_PROTECTION)
        return -EPROTO;
    *need = GSSAPI_HEADER_LEN;
    if (len < GSSAPI_HEADER_LEN)
        return 0;
    size_t token_len = (size_t)buf[2] << 8 | buf[3];
    *need = GSSAPI_HEADER_LEN + token_len;
    if (len < *need)
        return 0;
    out->mtyp = mtyp;
    out->token = buf + GSSAPI_HEADER_LEN;
    out->token_len = token_len;
    return (int)*need;
}

const char *gssapi_level_text(uint8_t level)
{
    switch (level) {
    case GSSAPI_LEVEL_CLEAR: return "clear (no per-message protection)";
    case GSSAPI_LEVEL_INTEGRITY: return "integrity";
    case GSSAPI_LEVEL_CONFIDENTIALITY: return "confidentiality";
    case GSSAPI_LEVEL_SELECTIVE: return "selective integrity or confidentiality";
    default: return "unknown";
    }
}
