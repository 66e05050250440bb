-- wrk script of the "probe" section (bench/probe.mjs): drives a /probe endpoint and checks every answer.
-- An answer counts as ok when it is HTTP 200 with a line "probe_success 1"; anything else is counted (non-200,
-- or 200 without probe_success 1) and the first one is kept. done() prints one line "BENCH-WRK {json}" with the
-- counts, wrk's own error counts and its latency percentiles (microseconds).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  non200 = 0
  failed = 0
  first = ""
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first == "" then first = "HTTP " .. status .. ": " .. string.sub(body or "", 1, 200) end
  elseif string.find(body, "\nprobe_success 1\n", 1, true) or string.sub(body, 1, 16) == "probe_success 1\n" then
    ok = ok + 1
  else
    failed = failed + 1
    if first == "" then
      local line = string.match(body, "\n(probe_smtp_failure_info{[^\n]*)") or string.match(body, "\n(probe_success [^\n]*)") or ""
      first = "HTTP 200 without probe_success 1: " .. line
    end
  end
end

local function esc(s)
  return (string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end))
end

function done(summary, latency, requests)
  local o, n, f, fst = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    n = n + t:get("non200")
    f = f + t:get("failed")
    if fst == "" then fst = t:get("first") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-WRK {"requests":%d,"durationUs":%d,"ok":%d,"non200":%d,"failed":%d,"first":"%s",' ..
    '"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,' ..
    '"p50Us":%d,"p90Us":%d,"p99Us":%d,"meanUs":%.1f,"maxUs":%d}\n',
    summary.requests, summary.duration, o, n, f, esc(fst),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
