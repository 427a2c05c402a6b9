/*
 * test_interop.c - the spec's own clients against a database optiinfra made.
 *
 * The spec's Python models (SQLAlchemy, JSON/JSONB columns) write the
 * sample_agent_state fixture with last_error=None, which SQLAlchemy stores
 * as JSON null.  tests/interop/spec_state_none.py does exactly that, on
 * the backend under test; the store must take the row (revision
 * 007_json_null) and every reader must see no error: the library, the
 * CLI's --json view.  Needs python3-sqlalchemy (and python3-psycopg2 on
 * PostgreSQL), which scripts/deps.sh --test installs.
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

/* Run the script with the fixture's URL and agent; its stdout (the new
 * state's id, one line) into out.  Returns the exit status. */
static int run_script(oi_fixture *fx, const char *agent_id, char *out, size_t size)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        /* Debian's python3, where python3-sqlalchemy is installed (not a pyenv shim) */
        execl("/usr/bin/python3", "python3", "tests/interop/spec_state_none.py", fx->url, agent_id,
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    for (ssize_t got; n + 1 < size && (got = read(fds[0], out + n, size - 1 - n)) > 0;)
        n += (size_t)got;
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_interop_sqlalchemy_none_is_no_error(void **state)
{
    oi_fixture *fx = FX(state);
    char state_id[128];
    assert_int_equal(run_script(fx, fx->cost_agent.id, state_id, sizeof state_id), 0);
    assert_int_equal(strlen(state_id), OI_UUID_LEN);

    /* stored as SQLAlchemy wrote it: JSON null, not SQL NULL */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_states WHERE id = '%s' AND "
             "last_error IS NOT NULL", state_id);
    assert_int_equal(fx_sql_int(fx, sql), 1);

    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_get(fx->store, state_id, &st));
    assert_null(st.last_error);
    assert_string_equal(st.status, "active");
    assert_string_equal(st.resource_locks, "[\"resource1\"]");
    oi_agent_state_clear(&st);

    fx_run r = {0};
    fx_cli(fx, &r, "--json", "agent", "show", fx->cost_agent.id, NULL);
    assert_int_equal(r.status, 0);
    json_t *j = fx_json(r.out);
    assert_true(json_is_null(fx_json_at(j, "state.last_error")));
    assert_string_equal(json_string_value(fx_json_at(j, "state.current_workflow")),
                        "test_workflow");
    json_decref(j);
    fx_run_free(&r);
}

int run_interop_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interop_sqlalchemy_none_is_no_error,
                                        fx_setup_agent, fx_teardown),
    };
    return fx_run_group("interop", tests);
}
