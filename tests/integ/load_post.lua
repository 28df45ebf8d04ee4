-- load_post.lua: wrk script for tests/integ/load.py.
--
-- Each wrk thread posts the bodies of its own file DIR/bodies-<tid>.txt
-- (one complete urlencoded form body, with a fresh _key and _csrf, per
-- line) to /f/contact, each exactly once. When a thread has no body left
-- for a connection it sends GET /healthz instead (a filler, counted
-- apart; so is each thread's first request, see request()). Once every
-- one of its POSTs has been answered, the thread writes DIR/done-<tid>
-- and stops. load.py waits for all the done files, then sends wrk SIGINT
-- so that wrk does not idle until its -d deadline.
--
-- Counters go through setup()/thread:get(), because done() runs in its
-- own Lua state (QA-TOOLS section 5).
--
-- Usage: wrk -tT -cC -dMAXs --latency -s load_post.lua URL -- DIR

local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	dir = args[1]
	bodies = {}
	for line in io.lines(dir .. "/bodies-" .. tid .. ".txt") do
		if #line > 0 then
			table.insert(bodies, line)
		end
	end
	total = #bodies
	nextbody = 1
	posts_answered = 0
	n303 = 0
	n2xx = 0
	n4xx = 0
	n5xx = 0
	nother = 0
	nfiller = 0
	finished = 0
	post_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
	filler = wrk.format("GET", "/healthz")
	if total == 0 then
		finished = 1
	end
end

function request()
	-- wrk 4.1.0 calls request() once on thread 0 before any connection,
	-- only to check the script (script_verify_request), and sends nothing
	-- for it: so every thread's first request is a filler, never a body.
	if first_call == nil then
		first_call = false
		return filler
	end
	if nextbody <= total then
		local b = bodies[nextbody]
		nextbody = nextbody + 1
		return wrk.format("POST", "/f/contact", post_headers, b)
	end
	return filler
end

function response(status, headers, body)
	-- A filler is GET /healthz: 200 with "ok". A POST never answers that.
	if status == 200 and body == "ok\n" then
		nfiller = nfiller + 1
		return
	end
	posts_answered = posts_answered + 1
	if status == 303 then
		n303 = n303 + 1
	elseif status >= 200 and status < 300 then
		n2xx = n2xx + 1
	elseif status >= 400 and status < 500 then
		n4xx = n4xx + 1
	elseif status >= 500 then
		n5xx = n5xx + 1
	else
		nother = nother + 1
	end
	if posts_answered >= total and finished == 0 then
		finished = 1
		local f = io.open(dir .. "/done-" .. tid, "w")
		if f then
			f:write(posts_answered, "\n")
			f:close()
		end
		wrk.thread:stop()
	end
end

function done(summary, latency, requests)
	local t = { n303 = 0, n2xx = 0, n4xx = 0, n5xx = 0, nother = 0,
	    nfiller = 0, posts_answered = 0, total = 0 }
	for _, th in ipairs(threads) do
		for k, _ in pairs(t) do
			t[k] = t[k] + th:get(k)
		end
	end
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write("LOADRESULT ")
	io.write(string.format("posts=%d answered=%d s303=%d s2xx=%d s4xx=%d "
	    .. "s5xx=%d sother=%d fillers=%d requests=%d duration_s=%.3f "
	    .. "rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	    .. "err_connect=%d err_read=%d err_write=%d err_timeout=%d "
	    .. "err_status=%d\n",
	    t.total, t.posts_answered, t.n303, t.n2xx, t.n4xx, t.n5xx,
	    t.nother, t.nfiller, summary.requests, secs,
	    t.posts_answered / secs,
	    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
	    latency:percentile(99) / 1000, latency.max / 1000,
	    e.connect, e.read, e.write, e.timeout, e.status))
end
