-- wrk script for scripts/bench-e2e.sh: sends 16 GET requests concatenated in one write and waits
-- for their 16 responses before sending the next batch.
--
--   wrk ... -s bench/e2e/pipeline16.lua http://127.0.0.1:PORT/ok.txt [-- DEPTH]
--
-- The path is the URL's; DEPTH (default 16) is the number of requests per batch. wrk parses the
-- string request() returns once at start-up (script_verify_request) and counts the requests in it:
-- that count becomes its pipeline depth, so it expects that many responses per batch and counts one
-- request per response. Requests/s and the request total are therefore responses, as in the other
-- cases; the latency is that of a whole batch (see done() below for the percentiles to use).

local depth = 16
local batch

function init(args)
  if args[1] ~= nil then
    depth = tonumber(args[1])
  end
  local one = wrk.format("GET", wrk.path)
  local parts = {}
  for i = 1, depth do
    parts[i] = one
  end
  batch = table.concat(parts)
end

function request()
  return batch
end

-- wrk 4.1 corrects the latency histogram for coordinated omission before printing it, with an
-- expected interval of runtime / (responses per connection). With pipelining that interval is the
-- batch latency / depth, so the correction piles copies of every batch's latency below the fastest
-- batch, where wrk's percentile loop (from the minimum up) never looks: the printed percentiles
-- are wrong and often 0. done() undoes the correction (it is invertible: a value v > E received
-- one copy from each original value v + k*E) and prints the batch latency percentiles as
--   pipeline-latency batches=N p50_us=X p99_us=Y
-- It needs the connection count (wrk -c) in the environment as WRK_CONNECTIONS.
function done(summary, latency, requests)
  local conns = tonumber(os.getenv("WRK_CONNECTIONS") or "")
  if conns == nil or conns < 1 or summary.requests < conns then
    return
  end
  local per_conn = math.floor(summary.requests / conns)
  local expected = math.floor(summary.duration / per_conn) -- wrk.c, in integer arithmetic
  if expected < 1 then
    return
  end
  local n = #latency
  local max = latency.max
  local values, counts = {}, {}
  for i = 1, n do
    local v, c = latency(i)
    values[i] = v
    counts[v] = c
  end
  local original = {}
  local total = 0
  for i = n, 1, -1 do
    local v = values[i]
    local c = counts[v]
    if v > expected then
      local m = v + expected
      while m <= max do
        c = c - (original[m] or 0)
        m = m + expected
      end
    end
    if c < 0 then
      io.write("pipeline-latency invalid\n")
      return
    end
    original[v] = c
    total = total + c
  end
  local function percentile(p)
    local rank = math.ceil(p / 100 * total)
    local sum = 0
    for i = 1, n do
      sum = sum + original[values[i]]
      if sum >= rank then
        return values[i]
      end
    end
    return 0
  end
  io.write(string.format("pipeline-latency batches=%d p50_us=%d p99_us=%d\n", total,
    percentile(50), percentile(99)))
end
