-- wrk.lua - the wrk script of every read scenario of `make bench` (scripts/bench/run.sh):
--
--   BENCH_TOKEN=... BENCH_PATHS=FILE wrk -t T -c C -d Ds --latency -s wrk.lua http://HOST:PORT
--
-- BENCH_TOKEN (optional): sent as "Authorization: Bearer ..." on every request (also to the
-- nginx and nullhttpd ceilings, so every server reads the same request).
-- BENCH_PATHS (optional): a file of request targets, one a line; each thread goes round
-- them in order, starting at its own offset (the operator cycle is four lines per item:
-- vault by title, item by title, item by id, its files). Without it, the URL's path.
-- At the end prints one line "BENCH_JSON {...}": requests, seconds, req/s, bytes, the
-- latency percentiles in microseconds and wrk's error counts (non-2xx/3xx answers are
-- counted in errors.status).

local token = os.getenv("BENCH_TOKEN")
if token and #token > 0 then
    wrk.headers["Authorization"] = "Bearer " .. token
end

local paths = {}
local pos = 0
local fixed = nil
local nthreads = 0

function setup(thread)
    thread:set("thread_no", nthreads)
    nthreads = nthreads + 1
end

function init(args)
    local file = os.getenv("BENCH_PATHS")
    if file and #file > 0 then
        for line in io.lines(file) do
            if #line > 0 then
                paths[#paths + 1] = wrk.format(nil, line) -- formatted once, sent many times
            end
        end
    end
    if #paths == 0 then
        fixed = wrk.format(nil, wrk.path)
    else
        -- spread the threads over the list (thread_no is set by setup); a multiple of 4 keeps
        -- the operator cycle's order
        pos = ((thread_no or 0) * 4 * 251) % #paths
    end
end

function request()
    if fixed then
        return fixed
    end
    pos = pos % #paths + 1
    return paths[pos]
end

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"bytes":%d,' ..
        '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
        '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
        summary.requests, secs, summary.requests / secs, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
