-- POSTs data-access requests with `Prefer: wait=0` (answered once the request is durably stored).
-- Arguments after `--`: the API key and a tag unique to this wrk process, so qualified names never repeat.
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("number", threads)
end

local counter = 0
local key, tag

function init(args)
    key = args[1]
    tag = args[2] .. "-" .. number
end

function request()
    counter = counter + 1
    local body = '{"qualifiedName":"mssql://db.contoso.com/bench/' .. tag .. '/t' .. counter ..
        '","purpose":"replica benchmark","requestedBy":"ada@contoso.com"}'
    return wrk.format("POST", "/v1/requests/data-access",
        {["Content-Type"] = "application/json", ["X-API-Key"] = key, ["Prefer"] = "wait=0"}, body)
end
