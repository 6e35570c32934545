-- GCRA over several buckets at once, atomically, in one round-trip.
--
-- KEYS[i]          bucket i (its value: the theoretical arrival time, in
--                  microseconds of Redis's clock; absent means a full bucket)
-- ARGV[1]          "1": all or nothing (a request refused by one bucket is
--                  charged to none); "0": charge each bucket on its own
-- ARGV[3i-1..3i+1] bucket i's emission interval T and tolerance
--                  tau = T * (burst - 1), in microseconds, and whether to
--                  charge it ("1") or only look ("0")
--
-- Returns {allowed, refusing bucket (1-based, 0 if none), then for each
-- bucket: requests remaining now, microseconds until full, microseconds
-- until one more would conform}.
--
-- Time is Redis's TIME, so every gateway instance shares one clock. Keys
-- expire when their bucket is full again, so idle keys cost no memory and
-- nothing is forgotten. This is the arithmetic of governor's GCRA (used
-- in process), in microseconds.
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local all_or_nothing = ARGV[1] == '1'
local n = #KEYS
local tat = {}
local refused = 0
local worst = 0
for i = 1, n do
  local tau = tonumber(ARGV[3 * i])
  local stored = tonumber(redis.call('GET', KEYS[i]))
  if stored == nil or stored < now then stored = now end
  tat[i] = stored
  local wait = stored - tau - now
  if wait > worst then
    worst = wait
    refused = i
  end
end
local charge_any = not (all_or_nothing and refused > 0)
local out = {refused == 0 and 1 or 0, refused}
for i = 1, n do
  local t = tonumber(ARGV[3 * i - 1])
  local tau = tonumber(ARGV[3 * i])
  local charge = ARGV[3 * i + 1] == '1'
  local at = tat[i]
  if charge_any and charge and at - tau <= now then
    at = at + t
    redis.call('SET', KEYS[i], at, 'PX', math.floor((at - now) / 1000) + 1)
  end
  local remaining = math.floor((now + tau + t - at) / t)
  if remaining < 0 then remaining = 0 end
  out[#out + 1] = remaining
  out[#out + 1] = at - now
  out[#out + 1] = math.max(0, at - tau - now)
end
return out
