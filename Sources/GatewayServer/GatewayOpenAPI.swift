import PurviewWorkflow

/// The gateway's contract as OpenAPI 3.1, served at `/openapi.json`.
enum GatewayOpenAPI {
    static let document: [UInt8] = build().serialized()

    private static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    private static func string(_ description: String, format: String? = nil, maxLength: Int? = nil) -> JSONValue {
        var object: JSONObject = ["type": "string", "description": .string(description)]
        if let format { object["format"] = .string(format) }
        if let maxLength { object["maxLength"] = .number(Double(maxLength)) }
        return .object(object)
    }
    private static let person: JSONValue = [
        "type": "string", "maxLength": 254,
        "description": "An email address or an Entra object id (UUID).",
    ]
    private static func problem(_ description: String) -> JSONValue {
        ["description": .string(description), "content": ["application/problem+json": ["schema": ref("Problem")]]]
    }

    private static func body(_ kind: String, required: [String], properties: JSONObject) -> JSONValue {
        var all = properties
        all["requestedBy"] = person
        all["comment"] = string("Why; carried to Purview in the user request's comment.", maxLength: 4096)
        all["callbackUrl"] = WebhookOpenAPI.callbackUrl
        return [
            "type": "object", "additionalProperties": false, "required": .array((required + ["requestedBy"]).map(JSONValue.string)),
            "properties": .object(all), "description": .string("Body of POST /v1/requests/\(kind)."),
        ]
    }

    private static func build() -> JSONValue {
        let uuid = { (text: String) in string(text, format: "uuid") }
        let termFields: JSONObject = [
            "name": string("Term name.", maxLength: 256), "definition": string("Definition (longDescription).", maxLength: 32768),
            "nickName": string("Nick name.", maxLength: 256),
            "status": ["type": "string", "enum": ["Draft", "Approved", "Alert", "Expired"]],
            "parentTermId": uuid("Parent term."),
            "experts": ["type": "array", "maxItems": 100, "items": person],
            "stewards": ["type": "array", "maxItems": 100, "items": person],
        ]
        var creation = termFields
        creation["glossaryId"] = uuid("Glossary the term belongs to.")
        var update = termFields
        update["termId"] = uuid("Term to change.")
        update["glossaryId"] = uuid("Glossary of the term.")
        let asset: JSONObject = [
            "assetId": uuid("Asset GUID (or give qualifiedName)."),
            "qualifiedName": string("Asset qualified name (or give assetId).", maxLength: 4096),
            "collection": string("Collection the asset is in (for workflow scoping).", maxLength: 256),
        ]
        var access = asset
        access["purpose"] = string("Why access is needed.", maxLength: 4096)
        access["duration"] = string("ISO 8601 duration, e.g. P30D.", maxLength: 32)
        var assetUpdate = asset
        assetUpdate["changes"] = ["type": "object", "description": "Asset attributes to change.", "minProperties": 1]

        let submitResponses: JSONValue = [
            "200": ["description": "Idempotent replay: the original request.", "content": ["application/json": ["schema": ref("Request")]]],
            "201": ["description": "Stored and forwarded within the wait budget.", "content": ["application/json": ["schema": ref("Request")]]],
            "202": ["description": "Stored; forwarding continues (see Location).", "content": ["application/json": ["schema": ref("Request")]]],
            "400": problem("Malformed JSON or wrong content type."), "401": problem("No valid API key."),
            "403": problem("Missing scope requests:write."), "409": problem("Idempotency-Key reused with a different body."),
            "413": problem("Body larger than 1 MiB."), "422": problem("Validation failed; errors[] lists each field by JSON pointer."),
        ]
        let submitParameters: JSONValue = [
            ["name": "Idempotency-Key", "in": "header", "schema": ["type": "string", "maxLength": 255],
             "description": "Same key and same body within 24 h returns the original request."],
            ["name": "Prefer", "in": "header", "schema": ["type": "string"], "description": "wait=N seconds (max 30) to wait for forwarding."],
        ]
        var paths = JSONObject()
        let kinds: [(String, String, JSONValue)] = [
            ("term-creation", "Request creation of a glossary term (CreateTerm).", body("term-creation", required: ["glossaryId", "name", "definition"], properties: creation)),
            ("term-update", "Request changes to a glossary term (UpdateTerm).", body("term-update", required: ["termId"], properties: update)),
            ("term-deletion", "Request deletion of a glossary term (DeleteTerm).", body("term-deletion", required: ["termId"], properties: ["termId": uuid("Term to delete."), "glossaryId": uuid("Glossary of the term."), "name": string("Term name, for people reading the request.", maxLength: 256)])),
            ("data-access", "Request access to a data asset (GrantDataAccess).", body("data-access", required: ["purpose"], properties: access)),
            ("asset-update", "Request changes to a data asset (UpdateAsset).", body("asset-update", required: ["changes"], properties: assetUpdate)),
        ]
        for (kind, summary, schema) in kinds {
            paths["/v1/requests/\(kind)"] = [
                "post": [
                    "summary": .string(summary), "operationId": .string("submit-\(kind)"), "security": [["apiKey": []], ["bearer": []]],
                    "parameters": submitParameters,
                    "requestBody": ["required": true, "content": ["application/json": ["schema": schema]]],
                    "responses": submitResponses,
                ]
            ]
        }
        paths["/v1/requests"] = [
            "get": [
                "summary": "List requests, newest first (own requests unless the key has requests:read:all).",
                "operationId": "list-requests", "security": [["apiKey": []], ["bearer": []]],
                "parameters": [
                    ["name": "status", "in": "query", "schema": ["type": "string"], "description": "Comma-separated statuses."],
                    ["name": "kind", "in": "query", "schema": ["type": "string"]],
                    ["name": "requestedBy", "in": "query", "schema": ["type": "string"]],
                    ["name": "createdAfter", "in": "query", "schema": ["type": "string", "format": "date-time"]],
                    ["name": "createdBefore", "in": "query", "schema": ["type": "string", "format": "date-time"]],
                    ["name": "limit", "in": "query", "schema": ["type": "integer", "minimum": 1, "maximum": 500, "default": 50]],
                    ["name": "cursor", "in": "query", "schema": ["type": "string"]],
                ],
                "responses": [
                    "200": ["description": "A page.", "content": ["application/json": ["schema": [
                        "type": "object", "properties": ["items": ["type": "array", "items": ref("Request")], "nextCursor": ["type": ["string", "null"]]],
                    ]]]],
                    "400": problem("Invalid query parameter."), "401": problem("No valid API key."),
                ],
            ]
        ]
        paths["/v1/requests/{id}"] = [
            "get": [
                "summary": "A request as stored; refresh=true reads its runs from Purview first.", "operationId": "get-request",
                "security": [["apiKey": []], ["bearer": []]],
                "parameters": [
                    ["name": "id", "in": "path", "required": true, "schema": ["type": "string"]],
                    ["name": "refresh", "in": "query", "schema": ["type": "boolean"]],
                ],
                "responses": ["200": ["description": "The request.", "content": ["application/json": ["schema": ref("Request")]]], "404": problem("Unknown (or another client's) request.")],
            ]
        ]
        paths["/v1/requests/{id}/cancel"] = [
            "post": [
                "summary": "Cancel: a queued request at once, a sent one by cancelling its runs in Purview.", "operationId": "cancel-request",
                "security": [["apiKey": []], ["bearer": []]],
                "parameters": [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]],
                "requestBody": ["content": ["application/json": ["schema": ["type": "object", "additionalProperties": false, "properties": ["comment": string("Why.", maxLength: 4096)]]]]],
                "responses": ["200": ["description": "Cancelled.", "content": ["application/json": ["schema": ref("Request")]]], "409": problem("Being submitted, or already finished.")],
            ]
        ]
        paths["/v1/requests/{id}/redrive"] = [
            "post": [
                "summary": "Operator: send a failed, refused or unknown request to Purview again (scope requests:admin).",
                "operationId": "redrive-request", "security": [["apiKey": []], ["bearer": []]],
                "parameters": [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]],
                "requestBody": ["content": ["application/json": ["schema": ["type": "object", "additionalProperties": false, "properties": ["comment": string("What the operator checked.", maxLength: 4096)]]]]],
                "responses": [
                    "202": ["description": "Queued to be sent again.", "content": ["application/json": ["schema": ref("Request")]]],
                    "403": problem("Missing scope requests:admin."), "404": problem("Unknown request."),
                    "409": problem("Not failed, refused or unknown."), "429": problem("The client's quota is used up (Retry-After, RateLimit-*)."),
                ],
            ]
        ]
        for (path, item) in importPaths { paths[path] = item }
        paths["/healthz"] = ["get": ["summary": "Liveness with details (store, token, Purview reachability).", "responses": ["200": ["description": "Alive."], "503": ["description": "Store failing."]]]]
        paths["/readyz"] = ["get": ["summary": "Ready to accept and store requests.", "responses": ["200": ["description": "Ready."], "503": ["description": "Not ready."]]]]
        paths["/metrics"] = ["get": ["summary": "Prometheus metrics.", "responses": ["200": ["description": "Text exposition format 0.0.4."]]]]
        WebhookOpenAPI.addPaths(to: &paths)
        paths["/v1/admin/status"] = [
            "get": [
                "summary": "Operator status (requests:admin): forward queue depth, unknown count, counts by status, token state, Purview reachability.",
                "operationId": "admin-status", "security": [["apiKey": []], ["bearer": []]],
                "responses": ["200": ["description": "The status.", "content": ["application/json": ["schema": ["type": "object"]]]], "403": problem("The key lacks requests:admin.")],
            ]
        ]

        let statuses: [JSONValue] = RequestStatusNames.all.map(JSONValue.string)
        var schemas: JSONObject = [
            "Request": [
                "type": "object",
                "properties": [
                    "id": ["type": "string"], "kind": ["type": "string", "enum": ["term-creation", "term-update", "term-deletion", "data-access", "asset-update"]],
                    "status": ["type": "string", "enum": .array(statuses)],
                    "outcome": ["type": ["string", "null"], "enum": ["approved", "rejected", nil]],
                    "requestedBy": ["type": "string"], "comment": ["type": "string"], "subject": ["type": "string"], "client": ["type": "string"],
                    "purviewRequestId": ["type": ["string", "null"]],
                    "workflowRunIds": ["type": "array", "items": ["type": "string"]],
                    "runs": ["type": "array", "items": [
                        "type": "object",
                        "properties": [
                            "id": ["type": "string"], "status": ["type": "string", "description": "Purview's own run status."],
                            "startTime": ["type": ["string", "null"], "format": "date-time"], "endTime": ["type": ["string", "null"], "format": "date-time"],
                            "pendingApprovers": ["type": "array", "items": ["type": "string"]],
                        ],
                    ]],
                    "error": ["type": ["object", "null"], "properties": ["code": ["type": "string"], "message": ["type": "string"], "httpStatus": ["type": "integer"], "purviewRequestId": ["type": "string"]]],
                    "timeline": ["type": "array", "items": ["type": "object", "properties": ["at": ["type": "string", "format": "date-time"], "status": ["type": "string"], "outcome": ["type": "string"], "note": ["type": "string"], "actor": ["type": "string"]]]],
                    "attempts": ["type": "integer"],
                    "callbackUrl": ["type": "string", "format": "uri"],
                    "createdAt": ["type": "string", "format": "date-time"], "updatedAt": ["type": "string", "format": "date-time"],
                    "links": ["type": "object", "properties": ["self": ["type": "string"], "cancel": ["type": "string"]]],
                ],
            ],
            "Problem": [
                "type": "object", "description": "RFC 9457 problem details.",
                "properties": [
                    "type": ["type": "string"], "title": ["type": "string"], "status": ["type": "integer"], "detail": ["type": "string"],
                    "instance": ["type": "string"], "code": ["type": "string"], "requestId": ["type": "string"],
                    "errors": ["type": "array", "items": ["type": "object", "properties": ["pointer": ["type": "string"], "code": ["type": "string"], "detail": ["type": "string"]]]],
                ],
            ],
        ]
        WebhookOpenAPI.addSchemas(to: &schemas)
        for (name, schema) in importSchemas { schemas[name] = schema }
        return [
            "openapi": "3.1.0",
            "webhooks": WebhookOpenAPI.webhooks,
            "info": [
                "title": "purview-gateway", "version": "1",
                "description": "Simplified endpoints that become Microsoft Purview Workflow user requests, stored durably and tracked.",
            ],
            "paths": .object(paths),
            "components": [
                "schemas": .object(schemas),
                "securitySchemes": [
                    "apiKey": ["type": "apiKey", "in": "header", "name": "X-API-Key"],
                    "bearer": ["type": "http", "scheme": "bearer"],
                ],
            ],
        ]
    }
}

import GatewayCore

enum RequestStatusNames {
    static let all = RequestStatus.allCases.map(\.rawValue)
}
