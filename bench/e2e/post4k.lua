-- wrk script for scripts/bench-e2e.sh's proxypost4k case: every request is a POST of a 4 KiB body
-- with its Content-Length (what a form or a JSON API call sends), keep-alive.
--
--   wrk ... -s bench/e2e/post4k.lua http://127.0.0.1:PORT/post
wrk.method = "POST"
wrk.body = string.rep("p", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"
