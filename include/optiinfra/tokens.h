/*
 * optiinfra/tokens.h - the API tokens of the HTTP service (optiinfra serve).
 *
 * A token is a bearer secret: "oit_" and 64 lower-case hex digits, 256
 * random bits from the kernel (getrandom(2)).  The prefix lets secret
 * scanners recognise a leaked token.  The token text is handed to the
 * caller once, by oi_token_create(); the store keeps only its SHA-256
 * (table api_tokens, revision 005), so neither a copy of the database nor
 * any message, log line or listing of the library shows a token or its
 * hash.  A token has a role: admin, read_only, or agent (acting for one
 * agent, and deleted with it).  Revoking a token deletes its row.
 * docs/api.md ("API tokens") has the rules.
 */
#ifndef OPTIINFRA_TOKENS_H
#define OPTIINFRA_TOKENS_H

#include <stdbool.h>
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a token may do; the server decides what each role allows. */
typedef enum oi_token_role {
    OI_TOKEN_ADMIN,     /**< everything */
    OI_TOKEN_READ_ONLY, /**< reads */
    OI_TOKEN_AGENT      /**< what one agent does for itself (agent_id) */
} oi_token_role;

/** "admin", "read_only" or "agent"; NULL for a value outside oi_token_role. */
const char *oi_token_role_name(oi_token_role role);

/** What every token starts with. */
#define OI_TOKEN_PREFIX "oit_"
/** The length of a token: the prefix and 64 hex digits. */
#define OI_TOKEN_LEN 68
/** Size of a buffer for a token, with its NUL. */
#define OI_TOKEN_BUFSZ (OI_TOKEN_LEN + 1)
/** The longest label, in bytes. */
#define OI_TOKEN_LABEL_MAX 200

/** The version of oi_api_token this header declares. */
#define OI_API_TOKEN_VERSION 1

/** A token as the store knows it: everything but the secret. */
typedef struct oi_api_token {
    unsigned int version; /**< OI_API_TOKEN_VERSION */
    oi_uuid id;
    oi_token_role role;
    oi_uuid agent_id;     /**< "" unless role is OI_TOKEN_AGENT */
    char *agent_name;     /**< NULL unless role is OI_TOKEN_AGENT */
    char *label;          /**< NULL: none */
    oi_time created_at;
} oi_api_token;

/** An empty oi_api_token of this header's version. */
#define OI_API_TOKEN_INIT {.version = OI_API_TOKEN_VERSION, .created_at = OI_TIME_NULL}

/** Make *rec an empty oi_api_token of `version`; OI_EINVALID if unknown. */
int oi_api_token_init(oi_api_token *rec, unsigned int version);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_api_token_clear(oi_api_token *rec);

/**
 * Make a token of `role` and write it into token (OI_TOKEN_BUFSZ bytes):
 * the only time its text is available; the store keeps its SHA-256.
 * agent_id: for OI_TOKEN_AGENT the id of an existing agent (OI_EINVALID if
 * missing or not a UUID, OI_ENOTFOUND if there is no such agent); for the
 * other roles NULL or "" (OI_EINVALID otherwise).  label: NULL or "" for
 * none, else at most OI_TOKEN_LABEL_MAX bytes of valid UTF-8 without
 * control characters (OI_EINVALID otherwise).  *out (if not NULL,
 * initialised) receives the token's record; free it with
 * oi_api_token_clear().  OI_ERROR if the kernel gives no random bytes.
 * On failure nothing is written, token is "" and *out empty.
 */
int oi_token_create(oi_store *store, oi_token_role role, const char *agent_id, const char *label,
                    char token[OI_TOKEN_BUFSZ], oi_api_token *out);

/**
 * Whether `token` is a token of the store, in one cached statement: its
 * SHA-256 is looked up, then compared with the stored one in constant
 * time.  OI_OK with its record in *out (if not NULL, initialised);
 * OI_ENOTFOUND for a token that is unknown, revoked or malformed (not
 * OI_TOKEN_PREFIX and 64 lower-case hex digits), with a message that never
 * contains the token; OI_EINVALID for a NULL token.  *out is empty on
 * failure.
 */
int oi_token_verify(oi_store *store, const char *token, oi_api_token *out);

/** Whether at least one token exists, into *any (one cached statement). */
int oi_token_any(oi_store *store, bool *any);

/** Revoke (delete) the token with this id; OI_ENOTFOUND if there is none. */
int oi_token_revoke(oi_store *store, const char *id);

/**
 * An iterator over every token, by creation time then id; read with
 * oi_api_token_next().  The records never hold the token or its hash.
 */
int oi_token_iter_new(oi_iter **out, oi_store *store);

/** The next token of a token iterator into *out: OI_OK, OI_ITEROVER or a failure. */
int oi_api_token_next(oi_iter *iter, oi_api_token *out);

#ifdef __cplusplus
}
#endif
#endif
