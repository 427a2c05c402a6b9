/*
 * orchestration.c - events, recommendations and approvals as the
 * orchestrator uses them (include/optiinfra/orchestration.h).
 *
 * The recommendation lifecycle is data: a table of moves, each naming the
 * status it reaches, the statuses it may start from and the timestamp it
 * sets.  One UPDATE serves every move:
 *
 *     UPDATE recommendations SET status = $2, ...
 *      WHERE id = $1 AND status IN ($6, $7) RETURNING id
 *
 * The status is checked by the statement that changes it, so the check and
 * the change cannot be separated by another writer: on PostgreSQL a second
 * mover waits for the first one's row lock and then re-evaluates the WHERE
 * against the committed row; on SQLite the transaction holds the write lock
 * from its first statement.  Exactly one of two racing movers gets its row
 * back.  The loser reads the row only to say why (no such recommendation,
 * or its current status), so the common path is one statement.  Approve and
 * reject add the approvals row in the same transaction.
 *
 * The queries are fixed statements with optional filters written as
 * "(column = $n OR $n IS NULL)", prepared once per store, rather than SQL
 * assembled per call: the orchestrator runs them all day long.  The
 * comparison comes first because PostgreSQL types a parameter where it
 * first meets it, and "$n IS NULL" alone says nothing about the type.
 */
#include <string.h>
#include "iter.h"
#include "value.h"

static int require_uuid(oi_store *s, const char *what, const char *id)
{
    if (oi_uuid_valid(id))
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "%s '%.40s' is not a UUID", what, id ? id : "");
}

/* ---- customers ------------------------------------------------------------- */

static int customer_by_email_on(oi_store *s, const char *email, oi_customer *out)
{
    static const oi_row_sql by_email = {&oi_table_customers, "WHERE email = $1", NULL};
    oi_stmt *st;
    int rc = oi_row_stmt(s, &by_email, &st);
    if (rc == OI_OK && (rc = oi_bind_text(st, 1, email)) == OI_OK)
        rc = oi_row_fetch_one(s, &oi_table_customers, st, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "no customer with email '%s'", email);
    return rc;
}

/* A read: from the replica outside a transaction (replica.c). */
static int customer_by_email(oi_store *s, const char *email, oi_customer *out)
{
    oi_store *r = NULL;
    int rc;
    while (oi_read_route(s, &r, &rc))
        rc = customer_by_email_on(r, email, out);
    return rc;
}

int oi_customer_lookup(oi_store *s, const char *ref, oi_customer *out)
{
    int rc = oi_row_out(s, &oi_table_customers, out);
    if (rc)
        return rc;
    if (!ref || !*ref)
        return oi_fail(s, OI_EINVALID, "a customer id or email is required");
    if (!oi_uuid_valid(ref)) /* an email no customer can have is refused, not looked up */
        return oi_value_require_str(s, OI_KIND_NAME, "customer email", ref) ? OI_EINVALID
               : customer_by_email(s, ref, out);
    rc = oi_customer_get(s, ref, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "no customer with id %s", ref);
    return rc;
}

/* ---- events ------------------------------------------------------------------ */

/* Severities from the mildest; a filter's "at least X" compares these ranks. */
static const char *const severity_ranks[] = {"info", "warning", "error", "critical", NULL};

static int severity_rank(oi_store *s, const char *severity, int64_t *rank)
{
    int rc = oi_value_require_str(s, OI_KIND_NAME, "severity", severity); /* echoed below */
    if (rc)
        return rc;
    for (int64_t i = 0; severity_ranks[i]; i++)
        if (strcmp(severity_ranks[i], severity) == 0) {
            *rank = i;
            return OI_OK;
        }
    return oi_fail(s, OI_EINVALID,
                   "severity '%.40s' is not one of: info, warning, error, critical", severity);
}

/* How many customers and agents have the event's ids (0 or 1 each). */
static int count_references(oi_store *s, const oi_event *ev, int64_t *customers,
                            int64_t *agents)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "SELECT (SELECT count(*) FROM customers WHERE id = $1), "
                            "(SELECT count(*) FROM agents WHERE id = $2)", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, ev->customer_id);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 2, ev->agent_id);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        *customers = oi_col_int64(st, 0);
        *agents = oi_col_int64(st, 1);
    }
    if (st)
        oi_reset(st);
    return rc < 0 ? rc : OI_OK;
}

/* Both references exist, or the message names the missing one.  Ids that
 * are not UUIDs are left to the insert's validation, which says so. */
static int require_event_references(oi_store *s, const oi_event *ev)
{
    bool has_agent = ev->agent_id[0] != '\0';
    if (!oi_uuid_valid(ev->customer_id) || (has_agent && !oi_uuid_valid(ev->agent_id)))
        return OI_OK;
    int64_t customers = 0, agents = 0;
    int rc = count_references(s, ev, &customers, &agents);
    if (rc == OI_OK && customers == 0)
        rc = oi_fail(s, OI_ENOTFOUND, "cannot record event: no customer with id %s",
                     ev->customer_id);
    else if (rc == OI_OK && has_agent && agents == 0)
        rc = oi_fail(s, OI_ENOTFOUND, "cannot record event: no agent with id %s", ev->agent_id);
    return rc;
}

int oi_event_record(oi_store *s, oi_event *ev)
{
    int rc = oi_row_validate(s, &oi_table_events, ev);
    if (rc == OI_OK)
        rc = require_event_references(s, ev);
    return rc ? rc : oi_row_insert(s, &oi_table_events, ev);
}

/* "... AND CASE severity WHEN 'warning' THEN 1 ... ELSE 0 END >= $3 ...",
 * the ranks from severity_ranks. */
static char *events_recent_where(void)
{
    oi_buf b = {0};
    oi_buf_add(&b, "WHERE customer_id = $1 AND (event_type = $2 OR $2 IS NULL) "
                   "AND CASE severity");
    for (int i = 1; severity_ranks[i]; i++)
        oi_buf_addf(&b, " WHEN '%s' THEN %d", severity_ranks[i], i);
    oi_buf_add(&b, " ELSE 0 END >= $3 AND (created_at >= $4 OR $4 IS NULL)");
    return b.data;
}

static const oi_iter_query events_recent = {
    "event", &oi_table_events, oi_iter_read_row, 0, {"created_at", "id"}, 2, 0, true, NULL};

int oi_event_filter_init(oi_event_filter *f, unsigned int version)
{
    if (oi_struct_init(f, sizeof *f, "oi_event_filter", version, OI_EVENT_FILTER_VERSION))
        return OI_EINVALID;
    f->since = OI_TIME_NULL;
    return OI_OK;
}

int oi_event_iter_recent(oi_iter **out, oi_store *s, const oi_event_filter *f)
{
    int64_t min_rank = 0;
    *out = NULL;
    int rc = f ? oi_check_version(s, "oi_event_filter", f->version, OI_EVENT_FILTER_VERSION)
               : oi_fail(s, OI_EINVALID, "an event filter is required");
    if (rc == OI_OK)
        rc = require_uuid(s, "event filter customer_id", f->customer_id);
    if (rc == OI_OK)
        rc = oi_time_check(s, "the event filter's since", f->since);
    if (rc == OI_OK && f->min_severity)
        rc = severity_rank(s, f->min_severity, &min_rank);
    if (rc)
        return rc;
    char *where = events_recent_where();
    *out = oi_iter_new(s, &events_recent, oi_iter_table_select(&events_recent, where));
    free(where);
    oi_iter_param_uuid(*out, f->customer_id);
    oi_iter_param_text(*out, f->event_type);
    oi_iter_param_int64(*out, min_rank);
    oi_iter_param_time(*out, f->since);
    (*out)->limit = f->limit;
    return OI_OK;
}

/* ---- the recommendation lifecycle ----------------------------------------------- */

typedef enum { STAMP_NONE, STAMP_APPROVED_AT, STAMP_EXECUTED_AT } stamp;

typedef struct move {
    const char *to;
    const char *from[2];  /* the statuses it may start from; NULL-padded */
    bool by_decision;     /* only through approve/reject, with an approvals row */
    stamp sets;
} move;

/* Every status is the target of one entry; pending of none that can happen. */
static const move moves[] = {
    {"pending", {NULL, NULL}, false, STAMP_NONE},
    {"approved", {"pending", NULL}, true, STAMP_APPROVED_AT},
    {"rejected", {"pending", NULL}, true, STAMP_NONE},
    {"executing", {"approved", NULL}, false, STAMP_EXECUTED_AT},
    {"completed", {"executing", NULL}, false, STAMP_NONE},
    {"failed", {"executing", NULL}, false, STAMP_NONE},
    {"rolled_back", {"completed", "failed"}, false, STAMP_NONE},
};
#define NMOVES (sizeof moves / sizeof *moves)

static const move *move_to(const char *status)
{
    for (size_t i = 0; status && i < NMOVES; i++)
        if (strcmp(moves[i].to, status) == 0)
            return &moves[i];
    return NULL;
}

static bool starts_from(const move *m, const char *status)
{
    return (m->from[0] && strcmp(m->from[0], status) == 0) ||
           (m->from[1] && strcmp(m->from[1], status) == 0);
}

static int fail_not_a_status(oi_store *s, const char *status)
{
    int rc = oi_value_require_str(s, OI_KIND_NAME, "a recommendation status", status);
    if (rc)
        return rc; /* not printable as it is */
    return oi_fail(s, OI_EINVALID,
                   "'%.40s' is not a recommendation status: pending, approved, rejected, "
                   "executing, completed, failed, rolled_back", status ? status : "");
}

/* "executing", "approved, rejected" or "none, it is final". */
static void add_next_statuses(oi_buf *b, const char *from)
{
    size_t before = b->len;
    for (size_t i = 0; i < NMOVES; i++)
        if (starts_from(&moves[i], from))
            oi_buf_addf(b, "%s%s", b->len > before ? ", " : "", moves[i].to);
    if (b->len == before)
        oi_buf_add(b, "none, it is final");
}

/* The UPDATE matched nothing: say whether the row is missing or in a
 * status the move does not start from. */
static int explain_refused_move(oi_store *s, const char *id, const move *m)
{
    oi_recommendation r = OI_RECOMMENDATION_INIT;
    oi_read_pin(s); /* a write's reads are the primary's (replica.c) */
    int rc = oi_recommendation_get(s, id, &r);
    oi_read_unpin(s);
    if (rc == OI_ENOTFOUND)
        rc = oi_fail(s, rc, "no recommendation with id %s", id);
    else if (rc == OI_OK && starts_from(m, r.status))  /* changed since the UPDATE */
        rc = oi_fail(s, OI_EBUSY, "recommendation %s changed while it was being moved to %s; "
                     "try again", id, m->to);
    else if (rc == OI_OK) {
        oi_buf next = {0};
        add_next_statuses(&next, r.status);
        rc = oi_fail(s, OI_ESTATE, "recommendation %s is %s and cannot become %s "
                     "(from %s it can become: %s)", id, r.status, m->to, r.status, next.data);
        free(next.data);
    }
    oi_recommendation_clear(&r);
    return rc;
}

static int bind_move(oi_stmt *st, const char *id, const move *m)
{
    oi_time now = oi_time_now();
    int rc = oi_bind_uuid(st, 1, id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 2, m->to);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 3, now);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 4, m->sets == STAMP_APPROVED_AT ? now : OI_TIME_NULL);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 5, m->sets == STAMP_EXECUTED_AT ? now : OI_TIME_NULL);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 6, m->from[0]);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 7, m->from[1]);
    return rc;
}

/* The status change itself: one statement that checks and changes it. */
static int apply_move(oi_store *s, const char *id, const move *m)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "UPDATE recommendations SET status = $2, updated_at = $3, "
                            "approved_at = COALESCE($4, approved_at), "
                            "executed_at = COALESCE($5, executed_at) "
                            "WHERE id = $1 AND status IN ($6, $7) RETURNING id", &st);
    if (rc == OI_OK && (rc = bind_move(st, id, m)) == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    if (rc == OI_ROW)
        return OI_OK;
    return rc == OI_DONE ? explain_refused_move(s, id, m) : rc;
}

static int record_decision(oi_store *s, const char *id, const move *m, const char *by,
                           const char *comment, oi_approval *out)
{
    oi_approval a = OI_APPROVAL_INIT;
    snprintf(a.recommendation_id, sizeof a.recommendation_id, "%s", id);
    oi_uuid_lower(a.recommendation_id);
    a.approved_by = oi_strdup(by);
    a.status = oi_strdup(m->to);
    a.comment = oi_strdup(comment);
    int rc = oi_approval_create(s, &a);
    if (rc == OI_OK && out)
        oi_row_move(&oi_table_approvals, out, &a); /* out takes a's strings */
    else
        oi_approval_clear(&a);
    return rc;
}

/* Move and, for a decision, its approvals row: one transaction. */
static int transition(oi_store *s, const char *id, const move *m, const char *by,
                      const char *comment, oi_approval *out)
{
    int rc = oi_tx_begin(s, false);
    if (rc)
        return rc;
    rc = apply_move(s, id, m);
    if (rc == OI_OK && m->by_decision)
        rc = record_decision(s, id, m, by, comment, out);
    if (rc) {
        oi_tx_rollback(s);
        return rc;
    }
    return oi_tx_commit(s);
}

static int decide(oi_store *s, const char *id, const char *decision, const char *by,
                  const char *comment, oi_approval *out)
{
    int rc = oi_row_out(s, &oi_table_approvals, out);
    if (rc == OI_OK)
        rc = require_uuid(s, "recommendation id", id);
    if (rc)
        return rc;
    if (!by || !*by)
        return oi_fail(s, OI_EINVALID, "who decides is required: give approved_by");
    /* the approvals row's texts, checked before the transaction opens */
    rc = oi_value_require_str(s, OI_KIND_NAME, "approval approved_by", by);
    if (rc == OI_OK)
        rc = oi_value_require_str(s, OI_KIND_TEXT, "approval comment", comment);
    if (rc == OI_OK)
        rc = transition(s, id, move_to(decision), by, comment, out);
    if (rc && out)
        oi_approval_clear(out); /* a failed commit after the row was read into out */
    return rc;
}

int oi_recommendation_approve(oi_store *s, const char *id, const char *approved_by,
                              const char *comment, oi_approval *out)
{
    return decide(s, id, "approved", approved_by, comment, out);
}

int oi_recommendation_reject(oi_store *s, const char *id, const char *approved_by,
                             const char *comment, oi_approval *out)
{
    return decide(s, id, "rejected", approved_by, comment, out);
}

int oi_recommendation_move(oi_store *s, const char *id, const char *new_status)
{
    int rc = require_uuid(s, "recommendation id", id);
    if (rc)
        return rc;
    const move *m = move_to(new_status);
    if (!m)
        return fail_not_a_status(s, new_status);
    if (m->by_decision)
        return oi_fail(s, OI_EINVALID, "a recommendation becomes %s by a decision that says "
                       "who made it: use %s", m->to,
                       strcmp(m->to, "approved") == 0 ? "oi_recommendation_approve()"
                                                      : "oi_recommendation_reject()");
    return transition(s, id, m, NULL, NULL, NULL);
}

/* ---- listing ---------------------------------------------------------------------- */

static const oi_iter_query recs_newest_first = {
    "recommendation", &oi_table_recommendations, oi_iter_read_row, 0, {"created_at", "id"}, 2,
    0, true, NULL};

int oi_recommendation_iter_by_customer(oi_iter **out, oi_store *s, const char *customer_id,
                                       const char *status)
{
    *out = NULL;
    int rc = require_uuid(s, "customer id", customer_id);
    if (rc == OI_OK && status && !move_to(status))
        rc = fail_not_a_status(s, status);
    if (rc)
        return rc;
    *out = oi_iter_new(s, &recs_newest_first,
                       oi_iter_table_select(&recs_newest_first,
                                            "WHERE customer_id = $1 AND "
                                            "(status = $2 OR $2 IS NULL)"));
    oi_iter_param_uuid(*out, customer_id);
    oi_iter_param_text(*out, status);
    return OI_OK;
}

int oi_recommendation_iter(oi_iter **out, oi_store *s, const char *status)
{
    *out = NULL;
    if (status && !move_to(status))
        return fail_not_a_status(s, status);
    *out = oi_iter_new(s, &recs_newest_first,
                       oi_iter_table_select(&recs_newest_first, "WHERE status = $1 OR $1 IS NULL"));
    oi_iter_param_text(*out, status);
    return OI_OK;
}

static const oi_iter_query approvals_of = {
    "approval", &oi_table_approvals, oi_iter_read_row, 0, {"created_at", "id"}, 2, 0, false, NULL};

int oi_approval_iter_by_recommendation(oi_iter **out, oi_store *s,
                                       const char *recommendation_id)
{
    *out = NULL;
    int rc = require_uuid(s, "recommendation id", recommendation_id);
    if (rc)
        return rc;
    *out = oi_iter_new(s, &approvals_of,
                       oi_iter_table_select(&approvals_of, "WHERE recommendation_id = $1"));
    oi_iter_param_uuid(*out, recommendation_id);
    return OI_OK;
}
