-- wrk script for bench/store_http_bench.sh (WN_TOKEN: the bearer token). WN_METHOD selects:
--   echo   system.echo with a 16-byte payload
--   get    worknode.get, round-robin over WN_COUNT worknodes from WN_OFFSET
--   update worknode.update, round-robin over the same worknodes, each carrying the version the
--          script expects the worknode to have. The next update of a worknode is built
--          WN_COUNT requests later, long after the previous one finished (WN_COUNT >> the
--          connections), so the expectation holds; a 409 (e.g. for a request wrk built but
--          never sent) carries the current version in its details and repairs the expectation.
--          wrk's "Non-2xx or 3xx responses" line counts the writes that did not happen.
local method = os.getenv("WN_METHOD") or "echo"
local count = tonumber(os.getenv("WN_COUNT") or "1000")
local offset = tonumber(os.getenv("WN_OFFSET") or "0")
local counter = 0
local versions = {}
local headers = { ["Content-Type"] = "application/json" }
local token = os.getenv("WN_TOKEN")
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end

request = function()
  local i = offset + counter % count
  counter = counter + 1
  if method == "echo" then
    return wrk.format("POST", "/rpc/system.echo", headers, '{"payload":"AAECAwQFBgcICQoLDA0ODw=="}')
  elseif method == "get" then
    return wrk.format("POST", "/rpc/worknode.get", headers, string.format('{"id":"b-%05d"}', i))
  end
  local version = versions[i] or 1
  versions[i] = version + 1
  local body = string.format(
    '{"id":"b-%05d","expectedVersion":%d,"set":[{"key":"n","value":"%d"}],"remove":[]}',
    i, version, counter)
  return wrk.format("POST", "/rpc/worknode.update", headers, body)
end

response = function(status, headers, body)
  if status == 409 then
    local id = body:match('"id":"b%-(%d+)"')
    local current = body:match('"currentVersion":(%d+)')
    if id and current then versions[tonumber(id)] = tonumber(current) end
  end
end
