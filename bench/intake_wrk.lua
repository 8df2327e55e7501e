-- wrk script for bench/intake.py: replays pre-signed Twilio SMS webhooks, each used once.
-- wrk's Lua has no HMAC, so the bench writes "signature<TAB>body" lines to a file;
-- thread N of M takes lines N, N+M, N+2M... from OFFSET on (args: file, offset, threads).

local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local path, offset, threads = args[1], tonumber(args[2]), tonumber(args[3])
  requests = {}
  local i = 0
  for line in io.lines(path) do
    if i >= offset and (i - offset) % threads == tid then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", "/twilio/sms", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body)
    end
    i = i + 1
  end
  position = 0
  wrapped = 0
end

function request()
  position = position + 1
  if position > #requests then
    -- Out of fresh deliveries: further requests are replays (cheaper); the bench warns.
    position = 1
    wrapped = wrapped + 1
  end
  return requests[position]
end
