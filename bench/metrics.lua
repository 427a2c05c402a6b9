-- metrics.lua - wrk's metric batches for the service benchmark (bench/serve.sh).
--
--   BENCH_BATCHES=PREFIX BENCH_TOKEN=T BENCH_THREADS=N wrk -t N ... -s bench/metrics.lua URL
--
-- Every request is POST /v1/metrics (Content-Type: application/x-ndjson,
-- token T) with the next batch file as its body: PREFIX0000, PREFIX0001...,
-- the rows of one bench/gen_metrics.c file cut into batches (split -l), so
-- that every batch is new data, later than the one before, as agents report
-- it, and the import baseline can read the very same rows.  Thread t of N
-- sends batches t, t + N, t + 2N...  (wrk calls request() of thread 0 once
-- more, to look at it: batch 0 is skipped.)  Running out of files is an
-- error: serve.sh makes more than a run can send.
--
-- Each 200 answer's {"accepted": N} is added up; done() prints one line for
-- serve.sh:
--   BENCH requests N ok N non2xx N socket_errors N accepted ROWS p50_ms X p99_ms Y seconds S
-- and the first answers that were not 200, for the reader to see why.

local threads = {}

function setup(thread)
   thread:set("number", #threads)
   table.insert(threads, thread)
end

function init(args)
   prefix, stride = os.getenv("BENCH_BATCHES"), tonumber(os.getenv("BENCH_THREADS"))
   headers = {["Content-Type"] = "application/x-ndjson",
              ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")}
   batch = number
   ok, accepted, failures = 0, 0, {}
end

function request()
   local path = string.format("%s%04d", prefix, batch)
   local f = assert(io.open(path, "rb"), "metrics.lua: no batch " .. path .. " left")
   local body = f:read("*a")
   f:close()
   batch = batch + stride
   return wrk.format("POST", "/v1/metrics", headers, body)
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
      accepted = accepted + tonumber(body:match('"accepted":%s*(%d+)'))
   elseif #failures < 5 then
      table.insert(failures, status .. " " .. body)
   end
end

function done(summary, latency, requests)
   local all_ok, all_accepted = 0, 0
   for _, thread in ipairs(threads) do
      all_ok = all_ok + thread:get("ok")
      all_accepted = all_accepted + thread:get("accepted")
      for _, f in ipairs(thread:get("failures")) do
         print("not 200: " .. f)
      end
   end
   local e = summary.errors
   print(string.format("BENCH requests %d ok %d non2xx %d socket_errors %d accepted %d "
                          .. "p50_ms %.3f p99_ms %.3f seconds %.3f",
                       summary.requests, all_ok, summary.requests - all_ok,
                       e.connect + e.read + e.write + e.timeout, all_accepted,
                       latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                       summary.duration / 1e6))
end
