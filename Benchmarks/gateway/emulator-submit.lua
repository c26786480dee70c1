-- wrk script: POSTs user requests (one CreateTerm operation, unique term names) straight to the
-- emulator's Workflow API with a bearer token, as the gateway's forwarder does, to measure the
-- emulator's own ceiling.
-- Usage: wrk -s emulator-submit.lua URL -- BEARER_TOKEN RUN_LABEL

local threads_made = 0

function setup(thread)
    threads_made = threads_made + 1
    thread:set("thread_number", threads_made)
end

local counter = 0
local prefix = "bench"

function init(args)
    prefix = string.format("emulator %s t%d ", args[2] or "run", thread_number or 0)
    wrk.method = "POST"
    wrk.path = "/workflow/userrequests?api-version=2023-10-01-preview"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer " .. args[1]
end

function request()
    counter = counter + 1
    local body = string.format(
        '{"operations":[{"type":"CreateTerm","payload":{"glossaryTerm":{"name":"%s%d",'
            .. '"longDescription":"A term made by the gateway benchmark.",'
            .. '"anchor":{"glossaryGuid":"20031e20-b4df-4a66-a61d-1b0716f3fa48"}}}}],'
            .. '"comment":"Requested by ada@contoso.com via bench"}',
        prefix, counter)
    return wrk.format(nil, nil, nil, body)
end
