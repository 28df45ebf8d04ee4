-- post.lua: wrk script for tests/bench (POST scenarios), after
-- tests/integ/load_post.lua.
--
-- Each wrk thread posts the bodies of its own file PREFIX-<tid>.txt (one
-- complete urlencoded body per line, each with a fresh _key and _csrf
-- fetched beforehand) to PATH, each body once, for the -d duration. The
-- harness gives every thread more bodies than it can send in that time;
-- should a thread run out anyway it sends GET /healthz instead and the
-- run is flagged (exhausted=1) rather than silently posting duplicates.
-- No response() callback (statuses: wrk's errors.status counts every
-- answer that is not 2xx/3xx; the harness also counts the new rows).
--
-- With a third argument "stop", a fixed number of POSTs is sent instead:
-- a thread that has sent all its bodies writes PREFIX-<tid>.done and
-- stops, and the harness ends wrk with SIGINT once every thread is done
-- (signup_jobs). The few fillers sent meanwhile are counted in fillers=.
--
-- wrk 4.1.0 calls request() once on thread 0 before connecting, only to
-- check the script, and sends nothing: that body is simply never posted.
--
-- Usage: wrk -tT -cC -dD --latency -s post.lua URL -- PATH PREFIX [stop]

local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	path = args[1]
	bodies = {}
	for line in io.lines(args[2] .. "-" .. tid .. ".txt") do
		if #line > 0 then
			bodies[#bodies + 1] = line
		end
	end
	total = #bodies
	nextbody = 1
	exhausted = 0
	fillers = 0
	stop_mode = args[3] == "stop"
	done_file = args[2] .. "-" .. tid .. ".done"
	headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
	filler = wrk.format("GET", "/healthz")
end

function request()
	if nextbody <= total then
		local b = bodies[nextbody]
		nextbody = nextbody + 1
		return wrk.format("POST", path, headers, b)
	end
	if exhausted == 0 and stop_mode then
		local f = io.open(done_file, "w")
		f:write(nextbody - 1, "\n")
		f:close()
		wrk.thread:stop()
	end
	exhausted = 1
	fillers = fillers + 1
	return filler
end

function done(summary, latency, requests)
	local ex, sent, fill = 0, 0, 0
	for _, t in ipairs(threads) do
		ex = ex + t:get("exhausted")
		sent = sent + t:get("nextbody") - 1
		fill = fill + t:get("fillers")
	end
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format("BENCHRESULT requests=%d duration_s=%.3f "
	    .. "rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	    .. "bytes=%d err_connect=%d err_read=%d err_write=%d "
	    .. "err_timeout=%d err_status=%d exhausted=%d bodies_taken=%d "
	    .. "fillers=%d\n",
	    summary.requests, secs, summary.requests / secs,
	    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
	    latency:percentile(99) / 1000, latency.max / 1000,
	    summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
	    ex, sent, fill))
end
