-- prefetch.lua: wrk script for tests/bench: fetches fresh form instances.
--
-- GETs PATH over keep-alive connections and writes each answer's _key
-- and _csrf, tab-separated, one pair per line, to OUT-<tid>.txt. A
-- thread stops after QUOTA pairs and then writes OUT-<tid>.done; the
-- harness waits for every .done file and stops wrk with SIGINT (wrk
-- would otherwise idle until its -d deadline).
--
-- Usage: wrk -tT -cC -dMAX -s prefetch.lua URL -- PATH OUT QUOTA

local counter = 0

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
end

function init(args)
	out = args[2]
	quota = tonumber(args[3])
	got = 0
	bad = 0
	finished = false
	f = io.open(out .. "-" .. tid .. ".txt", "w")
	wrk.method = "GET"
	wrk.path = args[1]
end

function response(status, headers, body)
	if finished then
		return
	end
	local k = body:match('name="_key" value="([^"]+)"')
	local c = body:match('name="_csrf" value="([^"]+)"')
	if status ~= 200 or k == nil or c == nil then
		bad = bad + 1
		return
	end
	f:write(k, "\t", c, "\n")
	got = got + 1
	if got >= quota then
		finished = true
		f:close()
		local d = io.open(out .. "-" .. tid .. ".done", "w")
		d:write(got, " ", bad, "\n")
		d:close()
		wrk.thread:stop()
	end
end
