-- heartbeat.lua - wrk's heartbeats for the service benchmark (bench/serve.sh).
--
--   BENCH_AGENTS=FILE BENCH_BEATS=OUT wrk ... -s bench/heartbeat.lua URL
--
-- FILE has one line per agent, "ID TOKEN NAME" (bench_agents register).
-- Each request is POST /v1/agents/ID/heartbeat with {"status":"healthy"},
-- sent with that agent's own token, as the agent itself would beat: the
-- agents are taken round-robin, each wrk thread from its own offset.  The
-- requests are built once, in init(), so that wrk spends no time making them.
--
-- Each 200 answer is read for its agent_id and last_heartbeat: per agent,
-- the count of acknowledged beats and the newest time acknowledged.  done()
-- writes them to OUT, one line per agent, "ID COUNT TIME" (bench_agents
-- check-beats reads it), and prints one line for serve.sh:
--   BENCH requests N ok N non2xx N socket_errors N p50_ms X p99_ms Y seconds S
-- and the first answers that were not 200, for the reader to see why.

local threads = {}

function setup(thread)
   thread:set("number", #threads)
   table.insert(threads, thread)
end

local function read_agents(path)
   local list = {}
   for line in io.lines(path) do
      local id, token = line:match("^(%S+) (%S+)")
      if id then
         table.insert(list, {id = id, token = token})
      end
   end
   return list
end

function init(args)
   local agents = read_agents(os.getenv("BENCH_AGENTS"))
   requests = {}
   for i, a in ipairs(agents) do
      requests[i] = wrk.format("POST", "/v1/agents/" .. a.id .. "/heartbeat",
                               {["Authorization"] = "Bearer " .. a.token,
                                ["Content-Type"] = "application/json"},
                               '{"status":"healthy"}')
   end
   -- each thread starts 499 agents after the previous one
   next_index = (number * 499) % #requests
   beats = {}    -- id -> acknowledged beats
   newest = {}   -- id -> newest last_heartbeat acknowledged (ISO text: sorts as time)
   failures = {} -- the first answers that were not 200
end

function request()
   next_index = next_index % #requests + 1
   return requests[next_index]
end

function response(status, headers, body)
   if status ~= 200 then
      if #failures < 5 then
         table.insert(failures, status .. " " .. body)
      end
      return
   end
   local id = body:match('"agent_id":%s*"([^"]+)"')
   local at = body:match('"last_heartbeat":%s*"([^"]+)"')
   beats[id] = (beats[id] or 0) + 1
   if not newest[id] or at > newest[id] then
      newest[id] = at
   end
end

function done(summary, latency, requests)
   local ok, out = 0, io.open(os.getenv("BENCH_BEATS"), "w")
   local all_beats, all_newest = {}, {}
   for _, thread in ipairs(threads) do
      local b, n = thread:get("beats"), thread:get("newest")
      for id, count in pairs(b) do
         ok = ok + count
         all_beats[id] = (all_beats[id] or 0) + count
         if not all_newest[id] or n[id] > all_newest[id] then
            all_newest[id] = n[id]
         end
      end
      for _, f in ipairs(thread:get("failures")) do
         print("not 200: " .. f)
      end
   end
   for id, count in pairs(all_beats) do
      out:write(id, " ", count, " ", all_newest[id], "\n")
   end
   out:close()
   local e = summary.errors
   print(string.format("BENCH requests %d ok %d non2xx %d socket_errors %d p50_ms %.3f "
                          .. "p99_ms %.3f seconds %.3f",
                       summary.requests, ok, summary.requests - ok,
                       e.connect + e.read + e.write + e.timeout,
                       latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                       summary.duration / 1e6))
end
