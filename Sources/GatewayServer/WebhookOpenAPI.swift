import GatewayCore
import PurviewWorkflow

/// The webhook parts of the OpenAPI document: the events endpoints, the `callbackUrl` field and the event POST.
enum WebhookOpenAPI {
    static let callbackUrl: JSONValue = [
        "type": "string", "format": "uri", "maxLength": .number(Double(CallbackURL.maximumLength)),
        "description": .string(
            "Where status-change events are POSTed (else the client's callbacks.defaultUrl). The host must be in the "
                + "client's callbacks.allowedHosts, https unless allowHttp; no user information. See docs/WEBHOOKS.md."),
    ]

    private static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    private static func problem(_ description: String) -> JSONValue {
        ["description": .string(description), "content": ["application/problem+json": ["schema": ref("Problem")]]]
    }
    private static let security: JSONValue = [["apiKey": []], ["bearer": []]]

    static func addPaths(to paths: inout JSONObject) {
        paths["/v1/requests/{id}/events"] = [
            "get": [
                "summary": "The request's webhook events, oldest first, with their delivery attempts.",
                "operationId": "list-request-events", "security": security,
                "parameters": [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]],
                "responses": [
                    "200": [
                        "description": "The events.",
                        "content": [
                            "application/json": [
                                "schema": [
                                    "type": "object",
                                    "properties": ["items": ["type": "array", "items": ref("WebhookEventStatus")]],
                                ]
                            ]
                        ],
                    ],
                    "404": problem("Unknown (or another client's) request."),
                ],
            ]
        ]
        paths["/v1/events/{id}/redeliver"] = [
            "post": [
                "summary":
                    "Send an event again (scope requests:admin): pending now, a new 24 h retry window, and a 410 stop on its URL lifted.",
                "operationId": "redeliver-event", "security": security,
                "parameters": [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]],
                "responses": [
                    "202": [
                        "description": "Queued for delivery.",
                        "content": ["application/json": ["schema": ref("WebhookEventStatus")]],
                    ],
                    "403": problem("Missing scope requests:admin."), "404": problem("Unknown event."),
                ],
            ]
        ]
    }

    static func addSchemas(to schemas: inout JSONObject) {
        let time: JSONValue = ["type": ["string", "null"], "format": "date-time"]
        schemas["WebhookEvent"] = [
            "type": "object", "description": "The body POSTed to a callbackUrl.",
            "required": ["id", "type", "createdAt", "request"],
            "properties": [
                "id": ["type": "string", "description": "Stable across retries: de-duplicate by it."],
                "type": ["type": "string", "enum": .array(WebhookEventType.all.map(JSONValue.string))],
                "createdAt": ["type": "string", "format": "date-time"],
                "request": ref("Request"),
            ],
        ]
        schemas["WebhookEventStatus"] = [
            "type": "object",
            "properties": [
                "id": ["type": "string"], "type": ["type": "string"], "sequence": ["type": "integer"],
                "createdAt": ["type": "string", "format": "date-time"], "url": ["type": "string"],
                "state": ["type": "string", "enum": .array(WebhookEventState.allCases.map { .string($0.rawValue) })],
                "nextAttemptAt": time, "deadline": time, "deliveredAt": time,
                "lastError": ["type": ["string", "null"]],
                "attempts": [
                    "type": "array",
                    "items": [
                        "type": "object",
                        "properties": [
                            "number": ["type": "integer"], "at": time, "statusCode": ["type": ["integer", "null"]],
                            "error": ["type": ["string", "null"]], "durationMs": ["type": "integer"],
                        ],
                    ],
                ],
            ],
        ]
    }

    static let webhooks: JSONValue = [
        "requestEvent": [
            "post": [
                "summary": "A request's status or outcome changed (sent to the request's callbackUrl).",
                "parameters": [
                    [
                        "name": "X-Gateway-Signature", "in": "header", "required": true, "schema": ["type": "string"],
                        "description":
                            "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" under the client's callbacks.secret>",
                    ],
                    ["name": "X-Gateway-Event-Id", "in": "header", "required": true, "schema": ["type": "string"]],
                    ["name": "X-Gateway-Event-Type", "in": "header", "schema": ["type": "string"]],
                ],
                "requestBody": ["required": true, "content": ["application/json": ["schema": ref("WebhookEvent")]]],
                "responses": [
                    "2XX": ["description": "Delivered."],
                    "410": ["description": "Stop sending to this URL."],
                    "default": ["description": "Retried with backoff for up to 24 h."],
                ],
            ]
        ]
    ]
}
