-- wrk script of the as-shipped load bench (bench/shipped_bench.ts); the URL names the call:
--   wrk -t1 -c32 -d3s -s bench/call_load.lua http://127.0.0.1:PORT/rpc/system.echo
-- Environment:
--   WN_TOKEN         bearer token sent on every call (the service's <data-dir>/admin.token)
--   WN_CONTENT_TYPE  Content-Type of every call (default application/json)
--   WN_BODY_FILE     a file whose bytes every call posts (wrk builds the request once), or
--   WN_UPDATE_OFFSET with WN_UPDATE_COUNT (default 1000): worknode.update, round-robin over the
--                    seeded worknodes b-<OFFSET>.. b-<OFFSET+COUNT-1>, each carrying the version
--                    it must have: all start at 1 (no other load touches them) and the next
--                    update of one is built COUNT calls later, long after the previous one was
--                    answered (COUNT >> the connections). A refused update (409) leaves that
--                    worknode's later ones refused too; wrk's "Non-2xx or 3xx responses" line
--                    counts them. Same body format as bench/_call_rows.ts.
local headers = { ["Content-Type"] = os.getenv("WN_CONTENT_TYPE") or "application/json" }
local token = os.getenv("WN_TOKEN")
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end

local body_file = os.getenv("WN_BODY_FILE")
if body_file and body_file ~= "" then
  local file = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  for name, value in pairs(headers) do wrk.headers[name] = value end
else
  local offset = tonumber(os.getenv("WN_UPDATE_OFFSET") or "0")
  local count = tonumber(os.getenv("WN_UPDATE_COUNT") or "1000")
  local counter = 0
  local versions = {}
  local function update(slot, version)
    local body = string.format(
      '{"id":"b-%05d","expectedVersion":%d,"set":[{"key":"n","value":"%d"}],"remove":[]}',
      offset + slot, version, counter)
    return wrk.format("POST", nil, headers, body)
  end
  -- wrk calls request() once per thread before it connects and never sends that request: the
  -- first call builds the first update without counting it.
  local probed = false
  request = function()
    if not probed then
      probed = true
      return update(0, 1)
    end
    local slot = counter % count
    counter = counter + 1
    local version = versions[slot] or 1
    versions[slot] = version + 1
    return update(slot, version)
  end
end
