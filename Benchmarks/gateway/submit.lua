-- wrk script: POSTs term-creation requests to the gateway with `Prefer: wait=0`, each with a unique
-- term name (run label, wrk thread, counter), so every 2xx is a new durably stored request.
-- Usage: wrk -s submit.lua URL -- API_KEY RUN_LABEL

local threads_made = 0

function setup(thread)
    threads_made = threads_made + 1
    thread:set("thread_number", threads_made)
end

local counter = 0
local prefix = "bench"

function init(args)
    prefix = string.format("bench %s t%d ", args[2] or "run", thread_number or 0)
    wrk.method = "POST"
    wrk.path = "/v1/requests/term-creation"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Prefer"] = "wait=0"
    wrk.headers["X-API-Key"] = args[1]
end

function request()
    counter = counter + 1
    local body = string.format(
        '{"glossaryId":"20031e20-b4df-4a66-a61d-1b0716f3fa48","name":"%s%d",'
            .. '"definition":"A term made by the gateway benchmark.","requestedBy":"ada@contoso.com"}',
        prefix, counter)
    return wrk.format(nil, nil, nil, body)
end
