/*
 * bench_agents.c - the agents of the service benchmark (bench/serve.sh):
 * registers them before the load, and checks the heartbeats after it.
 *
 *   bench_agents URL register N FILE
 *       Register N agents of type "bench" named bench-agent-0000 ... through
 *       the library (oi_agent_register(), as a registration over HTTP
 *       does), give each an agent token (oi_token_create()), and write one
 *       line per agent to FILE: "ID TOKEN NAME".  An admin token is printed
 *       on standard output, alone on its line.
 *
 *   bench_agents URL check-beats FILE
 *       FILE has one line per agent that wrk saw acknowledged: "ID COUNT
 *       TIME", TIME the newest last_heartbeat an answer of the service gave
 *       for it.  Every such agent must have both of its stored heartbeats
 *       (agents.last_heartbeat, agent_states.last_heartbeat) at TIME or
 *       later: a heartbeat only moves forward, so an older stored time means
 *       an acknowledged beat was lost.  Prints the agents and beats checked;
 *       exit 1 on the first lost beat.
 *
 * Agents and tokens go through the library rather than HTTP so that the
 * setup costs no time a reader could confuse with the benchmark's; the
 * service's own registration route is covered by the tests.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <optiinfra/optiinfra.h>

static int fail(oi_store *store, const char *doing)
{
    fprintf(stderr, "bench_agents: %s: %s\n", doing, oi_errmsg(store));
    return 1;
}

static int register_agents(oi_store *store, int n, const char *path)
{
    FILE *out = fopen(path, "w");
    if (!out)
        return perror(path), 1;
    char token[OI_TOKEN_BUFSZ];
    if (oi_begin(store) != OI_OK) /* one transaction: a commit per agent is slow */
        return fail(store, "beginning");
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "bench-agent-%04d", i);
        oi_agent a = OI_AGENT_INIT;
        a.type = "bench";
        a.name = name;
        a.endpoint = "http://127.0.0.1:9000";
        if (oi_agent_register(store, &a, NULL) != OI_OK)
            return fail(store, "registering an agent");
        if (oi_token_create(store, OI_TOKEN_AGENT, a.id, "bench", token, NULL) != OI_OK)
            return fail(store, "creating an agent token");
        fprintf(out, "%s %s %s\n", a.id, token, name);
        oi_agent_clear(&a);
    }
    if (fclose(out) != 0)
        return perror(path), 1;
    if (oi_token_create(store, OI_TOKEN_ADMIN, NULL, "bench admin", token, NULL) != OI_OK)
        return fail(store, "creating the admin token");
    if (oi_commit(store) != OI_OK)
        return fail(store, "committing");
    puts(token);
    return 0;
}

/* Whether both stored heartbeats of agent id are at `acked` or later. */
static int check_agent(oi_store *store, const char *id, oi_time acked)
{
    oi_agent a = OI_AGENT_INIT;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    if (oi_agent_get(store, id, &a) != OI_OK || oi_agent_state_find(store, id, &s) != OI_OK)
        return fail(store, "reading an agent back");
    int lost = a.last_heartbeat < acked || s.last_heartbeat < acked;
    if (lost) {
        char want[OI_TIME_BUFSZ], got[OI_TIME_BUFSZ], got_state[OI_TIME_BUFSZ];
        fprintf(stderr, "bench_agents: agent %s: a beat acknowledged at %s is lost: "
                "agents.last_heartbeat %s, agent_states.last_heartbeat %s\n", id,
                oi_time_format(acked, want), oi_time_format(a.last_heartbeat, got),
                oi_time_format(s.last_heartbeat, got_state));
    }
    oi_agent_clear(&a);
    oi_agent_state_clear(&s);
    return lost;
}

static int check_beats(oi_store *store, const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return perror(path), 1;
    char id[64], at[64];
    uint64_t count, agents = 0, beats = 0;
    int lost = 0;
    while (!lost && fscanf(in, "%63s %" SCNu64 " %63s", id, &count, at) == 3) {
        oi_time acked;
        if (oi_time_parse(at, &acked) != OI_OK) {
            fprintf(stderr, "bench_agents: %s: not a time: %s\n", path, at);
            lost = 1;
            break;
        }
        lost = check_agent(store, id, acked);
        agents++;
        beats += count;
    }
    fclose(in);
    if (!lost)
        printf("%" PRIu64 " agents, %" PRIu64 " acknowledged beats: every agent's stored "
               "heartbeat is at or after its last acknowledged one\n", agents, beats);
    return lost;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[2], "register") == 0 && argc != 5)) {
        fprintf(stderr, "usage: bench_agents URL register N FILE\n"
                        "       bench_agents URL check-beats FILE\n");
        return 2;
    }
    oi_store *store = NULL;
    if (oi_store_open(&store, argv[1]) != OI_OK) {
        int rc = fail(store, "opening the store");
        oi_store_close(store);
        return rc;
    }
    int rc = strcmp(argv[2], "register") == 0 ? register_agents(store, atoi(argv[3]), argv[4])
                                              : check_beats(store, argv[3]);
    oi_store_close(store);
    return rc;
}
