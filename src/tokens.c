/*
 * tokens.c - API tokens: made from the kernel's random bytes, stored as
 * their SHA-256 only (table api_tokens, revision 005).
 *
 * A token is "oit_" and the 32 random bytes of getrandom(2) in lower-case
 * hex.  What the table keeps is SHA-256 of that whole text (nettle), hex
 * again: a plain hash, not a slow password hash, because the token already
 * carries 256 bits of entropy, so there is nothing to guess by brute force,
 * and verifying must stay cheap (once per HTTP request).
 *
 * Verifying is one cached statement: look the hash up through the unique
 * index, then compare the stored hash with the computed one in constant
 * time.  The lookup itself compares hashes, never the token, so its timing
 * tells an attacker nothing about a valid token (finding a token with a
 * given hash prefix is as hard as breaking SHA-256); the constant-time
 * comparison is defence in depth against a lookup that would match more
 * loosely than byte for byte (a collation, a driver's padding).
 *
 * Secrets: no message, listing or record holds a token or its hash.  The
 * token text lives in the caller's buffer and in stack buffers wiped after
 * use; a unique violation on the hash (PostgreSQL would quote the key) is
 * reported without the driver's detail.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <nettle/sha2.h>
#include "iter.h"
#include "runtime.h"

#define HASH_HEX (2 * SHA256_DIGEST_SIZE)
#define RANDOM_BYTES 32
#define PREFIX_LEN (sizeof OI_TOKEN_PREFIX - 1)

static const char *const role_names[] = {"admin", "read_only", "agent"};
#define NROLES (sizeof role_names / sizeof *role_names)

#define TOKEN_COLUMNS                                                              \
    "SELECT t.id, t.role, t.agent_id, a.name, t.label, t.created_at"
#define TOKEN_FROM " FROM api_tokens t LEFT JOIN agents a ON a.id = t.agent_id "

const char *oi_token_role_name(oi_token_role role)
{
    return (unsigned)role < NROLES ? role_names[role] : NULL;
}

/* The role a stored word names.  The table's CHECK admits only the three
 * words; anything else would read as the least powerful role. */
static oi_token_role role_of(const char *word)
{
    for (size_t i = 0; word && i < NROLES; i++)
        if (strcmp(word, role_names[i]) == 0)
            return (oi_token_role)i;
    return OI_TOKEN_READ_ONLY;
}

/* ---- records -------------------------------------------------------------- */

int oi_api_token_init(oi_api_token *rec, unsigned int version)
{
    if (oi_struct_init(rec, sizeof *rec, "oi_api_token", version, OI_API_TOKEN_VERSION))
        return OI_EINVALID;
    rec->created_at = OI_TIME_NULL;
    return OI_OK;
}

void oi_api_token_clear(oi_api_token *rec)
{
    if (!rec || oi_check_version(NULL, "oi_api_token", rec->version, OI_API_TOKEN_VERSION))
        return;
    free(rec->agent_name);
    free(rec->label);
    oi_api_token_init(rec, rec->version);
}

/* An output record (NULL allowed): OI_OK and emptied, or OI_EINVALID. */
static int token_out(oi_store *s, oi_api_token *out)
{
    int rc = out ? oi_check_version(s, "oi_api_token", out->version, OI_API_TOKEN_VERSION)
                 : OI_OK;
    if (rc == OI_OK && out)
        oi_api_token_init(out, out->version);
    return rc;
}

/* Columns 0..5 of TOKEN_COLUMNS into out. */
static void read_token(oi_stmt *st, oi_api_token *out)
{
    oi_api_token_init(out, out->version);
    oi_col_uuid(st, 0, out->id);
    out->role = role_of(oi_col_text(st, 1));
    oi_col_uuid(st, 2, out->agent_id);
    out->agent_name = oi_col_strdup(st, 3);
    out->label = oi_col_strdup(st, 4);
    out->created_at = oi_col_time(st, 5);
}

/* ---- secrets -------------------------------------------------------------- */

static void hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* SHA-256 of the whole token text, as 64 lower-case hex digits. */
static void token_hash(const char *token, char out[HASH_HEX + 1])
{
    struct sha256_ctx ctx;
    unsigned char digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(token), (const uint8_t *)token);
    sha256_digest(&ctx, sizeof digest, digest);
    hex(digest, sizeof digest, out);
    explicit_bzero(&ctx, sizeof ctx);
    explicit_bzero(digest, sizeof digest);
}

/* A new token from the kernel's random bytes (the urandom source, which
 * blocks only until the pool is first initialised at boot). */
static int new_token(oi_store *s, char token[OI_TOKEN_BUFSZ])
{
    unsigned char bytes[RANDOM_BYTES];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            explicit_bzero(bytes, sizeof bytes);
            return oi_fail(s, OI_ERROR, "cannot make an API token: no random bytes from the "
                           "kernel (getrandom: %s)", strerror(err));
        }
        got += (size_t)n;
    }
    memcpy(token, OI_TOKEN_PREFIX, PREFIX_LEN);
    hex(bytes, sizeof bytes, token + PREFIX_LEN);
    explicit_bzero(bytes, sizeof bytes);
    return OI_OK;
}

/* OI_TOKEN_PREFIX and 64 lower-case hex digits.  The format is public: its
 * check may take the time it takes. */
static bool well_formed(const char *token)
{
    if (strlen(token) != OI_TOKEN_LEN || memcmp(token, OI_TOKEN_PREFIX, PREFIX_LEN) != 0)
        return false;
    for (const char *p = token + PREFIX_LEN; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Whether a and b (n bytes each) are equal, in a time that does not depend
 * on where they differ. */
static bool same_in_constant_time(const char *a, const char *b, size_t n)
{
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* ---- create --------------------------------------------------------------- */

static int check_label(oi_store *s, const char *label)
{
    if (!label || !*label)
        return OI_OK;
    if (strlen(label) > OI_TOKEN_LABEL_MAX)
        return oi_fail(s, OI_EINVALID, "a token label may be at most %d bytes long",
                       OI_TOKEN_LABEL_MAX);
    return oi_rt_check_text(s, "a token label", label, OI_KIND_NAME);
}

/* The role and its agent: an agent token names an agent, no other does. */
static int check_role(oi_store *s, oi_token_role role, const char *agent_id)
{
    if (!oi_token_role_name(role))
        return oi_fail(s, OI_EINVALID, "%d is not a token role (OI_TOKEN_ADMIN, "
                       "OI_TOKEN_READ_ONLY or OI_TOKEN_AGENT)", (int)role);
    bool has_agent = agent_id && *agent_id;
    if (role == OI_TOKEN_AGENT && !has_agent)
        return oi_fail(s, OI_EINVALID, "an agent token needs the id of its agent");
    if (role != OI_TOKEN_AGENT && has_agent)
        return oi_fail(s, OI_EINVALID, "only an agent token names an agent, not a %s token",
                       role_names[role]);
    return has_agent ? oi_rt_require_agent_id(s, agent_id) : OI_OK;
}

/* The agent's name into *name (allocated): OI_OK or OI_ENOTFOUND. */
static int find_agent_name(oi_store *s, const char *agent_id, char **name)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "SELECT name FROM agents WHERE id = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        *name = oi_col_strdup(st, 0);
        rc = OI_OK;
    } else if (rc == OI_DONE) {
        rc = oi_fail(s, OI_ENOTFOUND, "no agent with id %s: an agent token needs an "
                     "existing agent", agent_id);
    }
    if (st)
        oi_reset(st);
    return rc;
}

static int insert_token(oi_store *s, const oi_api_token *rec, const char *hash)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "INSERT INTO api_tokens (id, role, agent_id, label, token_sha256, "
                            "created_at) VALUES ($1, $2, $3, $4, $5, $6)", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, rec->id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 2, role_names[rec->role]);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 3, rec->agent_id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 4, rec->label);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 5, hash);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 6, rec->created_at);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    if (rc == OI_EEXISTS) /* the driver's detail would quote the hash */
        return oi_fail(s, rc, "cannot create API token: another token has the same hash; "
                       "try again");
    if (rc < 0 && s->err.constraint == OI_CONSTRAINT_FOREIGN_KEY)
        return oi_fail(s, rc, "cannot create API token: agent %s was deleted meanwhile",
                       rec->agent_id);
    if (rc < 0) {
        char driver[OI_ERRMSG_MAX];
        snprintf(driver, sizeof driver, "%s", s->err.msg);
        return oi_fail(s, rc, "cannot create API token: %s", driver);
    }
    return OI_OK;
}

static int create(oi_store *s, oi_token_role role, const char *agent_id, const char *label,
                  char token[OI_TOKEN_BUFSZ], oi_api_token *rec)
{
    char hash[HASH_HEX + 1];
    int rc = role == OI_TOKEN_AGENT ? find_agent_name(s, agent_id, &rec->agent_name) : OI_OK;
    if (rc == OI_OK)
        rc = new_token(s, token);
    if (rc)
        return rc;
    token_hash(token, hash);
    oi_uuid_generate(rec->id);
    rec->role = role;
    if (role == OI_TOKEN_AGENT) {
        snprintf(rec->agent_id, sizeof rec->agent_id, "%s", agent_id);
        oi_uuid_lower(rec->agent_id);
    }
    rec->label = label && *label ? oi_strdup(label) : NULL;
    rec->created_at = oi_time_now();
    rc = insert_token(s, rec, hash);
    explicit_bzero(hash, sizeof hash);
    return rc;
}

int oi_token_create(oi_store *s, oi_token_role role, const char *agent_id, const char *label,
                    char token[OI_TOKEN_BUFSZ], oi_api_token *out)
{
    oi_api_token rec = OI_API_TOKEN_INIT;
    char made[OI_TOKEN_BUFSZ] = "";
    int rc = token_out(s, out);
    if (rc == OI_OK && !token)
        rc = oi_fail(s, OI_EINVALID, "a buffer for the token is required");
    if (rc == OI_OK)
        rc = check_role(s, role, agent_id);
    if (rc == OI_OK)
        rc = check_label(s, label);
    if (rc == OI_OK)
        rc = create(s, role, agent_id, label, made, &rec);
    if (token && rc == OI_OK)
        memcpy(token, made, sizeof made);
    else if (token)
        token[0] = '\0';
    explicit_bzero(made, sizeof made);
    if (rc == OI_OK && out)
        *out = rec; /* one version exists: a later one copies the fields of out's */
    else
        oi_api_token_clear(&rec);
    return rc;
}

/* ---- verify, any, revoke -------------------------------------------------- */

static int lookup(oi_store *s, const char *hash, oi_api_token *found)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, TOKEN_COLUMNS ", t.token_sha256" TOKEN_FROM
                            "WHERE t.token_sha256 = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, hash);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        const char *stored = oi_col_text(st, 6);
        bool same = stored && strlen(stored) == HASH_HEX &&
                    same_in_constant_time(stored, hash, HASH_HEX);
        if (same)
            read_token(st, found);
        rc = same ? OI_OK : OI_DONE;
    }
    if (st)
        oi_reset(st);
    return rc;
}

int oi_token_verify(oi_store *s, const char *token, oi_api_token *out)
{
    oi_api_token found = OI_API_TOKEN_INIT;
    char hash[HASH_HEX + 1];
    int rc = token_out(s, out);
    if (rc)
        return rc;
    if (!token)
        return oi_fail(s, OI_EINVALID, "a token is required");
    if (!well_formed(token))
        return oi_fail(s, OI_ENOTFOUND, "not an API token: a token is " OI_TOKEN_PREFIX
                       " followed by 64 lower-case hex digits");
    token_hash(token, hash);
    rc = lookup(s, hash, &found);
    explicit_bzero(hash, sizeof hash);
    if (rc == OI_DONE)
        rc = oi_fail(s, OI_ENOTFOUND, "unknown or revoked API token");
    if (rc == OI_OK && out)
        *out = found;
    else
        oi_api_token_clear(&found);
    return rc;
}

int oi_token_any(oi_store *s, bool *any)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "SELECT 1 FROM api_tokens LIMIT 1", &st);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    if (rc == OI_ROW || rc == OI_DONE) {
        *any = rc == OI_ROW;
        return OI_OK;
    }
    return rc;
}

int oi_token_revoke(oi_store *s, const char *id)
{
    oi_uuid key;
    oi_stmt *st = NULL;
    int rc = oi_row_uuid_arg(s, "API token id", id, key);
    if (rc == OI_OK)
        rc = oi_stmt_cached(s, "DELETE FROM api_tokens WHERE id = $1 RETURNING id", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, key);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    if (rc == OI_DONE)
        return oi_fail(s, OI_ENOTFOUND, "no API token with id %s", key);
    return rc == OI_ROW ? OI_OK : rc;
}

/* ---- listing --------------------------------------------------------------- */

/* The records a token iterator yields. */
static const char token_tag[] = "API token";

static int read_token_row(oi_iter *it, oi_stmt *st, void *out)
{
    (void)it;
    read_token(st, out);
    return OI_OK;
}

static const oi_iter_query tokens_query = {
    "API token", token_tag, read_token_row, 6, {"t.created_at", "t.id"}, 2, 0, false, NULL};

int oi_token_iter_new(oi_iter **out, oi_store *s)
{
    *out = oi_iter_new(s, &tokens_query,
                       oi_strdup(TOKEN_COLUMNS ", t.created_at, t.id" TOKEN_FROM "WHERE TRUE"));
    return OI_OK;
}

int oi_api_token_next(oi_iter *it, oi_api_token *out)
{
    return oi_struct_next(it, token_tag, "oi_api_token", OI_API_TOKEN_VERSION, out);
}
