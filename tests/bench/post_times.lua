-- post_times.lua: wrk script for tests/bench's queue rows: post.lua's
-- POSTs (same arguments), and for each 303 the time it arrived and its
-- Location, one line "SECONDS.MICROSECONDS /s/ID" in TIMES-<tid>.txt
-- per thread. The time is CLOCK_REALTIME (through LuaJIT's ffi; wrk's
-- Lua has no finer clock), the clock hook_receiver.py stamps a
-- webhook's arrival with, so the two give the time from a 303 to its
-- action's start. In stop mode a thread stops once it has sent its
-- last body: the answers still in flight then are not timed.
--
-- Usage: wrk -tT -cC -dD -s post_times.lua URL -- PATH PREFIX stop TIMES

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "post.lua")

local ffi = require("ffi")
ffi.cdef[[
struct post_times_ts { long tv_sec; long tv_nsec; };
int clock_gettime(int, struct post_times_ts *);
]]
local now = ffi.new("struct post_times_ts")
local post_init = init

function init(args)
	post_init(args)
	times = io.open(args[4] .. "-" .. tid .. ".txt", "w")
	times:setvbuf("line")
end

function response(status, headers, body)
	if status == 303 then
		ffi.C.clock_gettime(0, now)
		times:write(string.format("%d.%06d %s\n", tonumber(now.tv_sec),
		    math.floor(tonumber(now.tv_nsec) / 1000),
		    headers["location"] or headers["Location"] or ""))
	end
end
