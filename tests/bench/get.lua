-- get.lua: wrk script for tests/bench (GET scenarios).
--
-- The request itself comes from the command line (URL, and -H for
-- If-None-Match), so wrk sends one fixed request as fast as it can; no
-- response() callback, so wrk does not hand bodies to Lua and costs the
-- same for the app and the references. Statuses are checked through
-- wrk's own count of non-2xx/3xx answers (errors.status) and the bytes
-- read per answer (a 304 is much shorter than a 200).
--
-- done() prints one line for the harness:
--   BENCHRESULT requests=N duration_s=S rps=R p50_ms=.. p90_ms=.. p99_ms=..
--   max_ms=.. bytes=B err_connect=.. err_read=.. err_write=..
--   err_timeout=.. err_status=..

function done(summary, latency, requests)
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format("BENCHRESULT requests=%d duration_s=%.3f "
	    .. "rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	    .. "bytes=%d err_connect=%d err_read=%d err_write=%d "
	    .. "err_timeout=%d err_status=%d exhausted=0\n",
	    summary.requests, secs, summary.requests / secs,
	    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
	    latency:percentile(99) / 1000, latency.max / 1000,
	    summary.bytes, e.connect, e.read, e.write, e.timeout, e.status))
end
