import GatewayCore
import PurviewWorkflow

/// The OpenAPI entries of the import routes (docs/IMPORTS.md).
extension GatewayOpenAPI {
    static var importPaths: JSONObject {
        let security: JSONValue = [["apiKey": []], ["bearer": []]]
        let idParameter: JSONValue = ["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]
        let problem = { (description: String) -> JSONValue in
            [
                "description": .string(description),
                "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
            ]
        }
        let importResponse = { (description: String) -> JSONValue in
            [
                "description": .string(description),
                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Import"]]],
            ]
        }
        return [
            "/v1/imports": [
                "post": [
                    "summary":
                        "Upload a batch of requests: CSV (header = the kind's body fields, optional kind column) or NDJSON, optionally gzip; streamed, at most 100 MiB decoded.",
                    "operationId": "create-import", "security": security,
                    "parameters": [
                        [
                            "name": "kind", "in": "query", "description": "The rows' kind unless a row sets its own.",
                            "schema": [
                                "type": "string", "enum": .array(RequestKind.allCases.map { .string($0.rawValue) }),
                            ],
                        ],
                        [
                            "name": "Idempotency-Key", "in": "header",
                            "description": "The same key returns the same import; an interrupted upload resumes.",
                            "schema": ["type": "string", "maxLength": 255],
                        ],
                        ["name": "Content-Encoding", "in": "header", "schema": ["type": "string", "enum": ["gzip"]]],
                    ],
                    "requestBody": [
                        "required": true,
                        "content": [
                            "text/csv": ["schema": ["type": "string"]],
                            "application/x-ndjson": ["schema": ["type": "string"]],
                        ],
                    ],
                    "responses": [
                        "202": importResponse(
                            "Every row read: accepted rows are stored requests, rejected rows are listed under rows?status=rejected."
                        ),
                        "200": importResponse(
                            "This Idempotency-Key's import was received before: nothing new was created."),
                        "400": problem(
                            "Unsupported content type, invalid kind or key, or a file that cannot be read to its end (rows before it are kept; importId given)."
                        ),
                        "401": problem("No valid API key."), "403": problem("The key lacks imports:write."),
                        "413": problem("The body is larger than 100 MiB (after decoding)."),
                    ],
                ],
                "get": [
                    "summary": "The client's imports, newest first (all imports with requests:read:all).",
                    "operationId": "list-imports",
                    "security": security,
                    "parameters": [
                        [
                            "name": "idempotencyKey", "in": "query",
                            "description": "Only the import made under this key.", "schema": ["type": "string"],
                        ],
                        ["name": "limit", "in": "query", "schema": ["type": "integer", "minimum": 1, "maximum": 500]],
                        ["name": "cursor", "in": "query", "schema": ["type": "string"]],
                    ],
                    "responses": [
                        "200": [
                            "description": "A page.",
                            "content": [
                                "application/json": [
                                    "schema": [
                                        "type": "object",
                                        "properties": [
                                            "items": [
                                                "type": "array", "items": ["$ref": "#/components/schemas/Import"],
                                            ], "nextCursor": ["type": ["string", "null"]],
                                        ],
                                    ]
                                ]
                            ],
                        ]
                    ],
                ],
            ],
            "/v1/imports/{id}": [
                "get": [
                    "summary": "An import's status and counts.", "operationId": "get-import", "security": security,
                    "parameters": [idParameter],
                    "responses": [
                        "200": importResponse("The import."), "404": problem("Unknown (or another client's) import."),
                    ],
                ]
            ],
            "/v1/imports/{id}/rows": [
                "get": [
                    "summary": "The import's rejected rows: one item per error, in row order.",
                    "operationId": "list-import-rows",
                    "security": security,
                    "parameters": [
                        idParameter,
                        ["name": "status", "in": "query", "schema": ["type": "string", "enum": ["rejected"]]],
                        [
                            "name": "limit", "in": "query", "description": "Rows per page.",
                            "schema": ["type": "integer", "minimum": 1, "maximum": 1000],
                        ],
                        ["name": "cursor", "in": "query", "schema": ["type": "string"]],
                    ],
                    "responses": [
                        "200": [
                            "description": "A page.",
                            "content": [
                                "application/json": [
                                    "schema": [
                                        "type": "object",
                                        "properties": [
                                            "items": [
                                                "type": "array",
                                                "items": [
                                                    "type": "object",
                                                    "properties": [
                                                        "row": [
                                                            "type": "integer",
                                                            "description":
                                                                "1-based among data rows (a CSV header is not a row).",
                                                        ],
                                                        "field": [
                                                            "type": "string",
                                                            "description":
                                                                "The body field at fault; empty for the whole row.",
                                                        ],
                                                        "code": ["type": "string"], "message": ["type": "string"],
                                                        "raw": [
                                                            "type": "string",
                                                            "description": "The row as received (at most 4 KiB).",
                                                        ],
                                                    ],
                                                ],
                                            ],
                                            "nextCursor": ["type": ["string", "null"]],
                                        ],
                                    ]
                                ]
                            ],
                        ],
                        "404": problem("Unknown (or another client's) import."),
                    ],
                ]
            ],
        ]
    }

    static var importSchemas: JSONObject {
        let count: JSONValue = ["type": "integer"]
        return [
            "Import": [
                "type": "object",
                "properties": [
                    "id": ["type": "string"],
                    "status": ["type": "string", "enum": .array(ImportStatus.allCases.map { .string($0.rawValue) })],
                    "format": ["type": "string", "enum": ["csv", "ndjson"]],
                    "kind": ["type": ["string", "null"]],
                    "idempotencyKey": ["type": "string"],
                    "counts": [
                        "type": "object",
                        "properties": [
                            "rows": count, "accepted": count, "rejected": count, "forwarded": count, "completed": count,
                            "failed": count,
                        ],
                    ],
                    "createdAt": ["type": "string", "format": "date-time"],
                    "updatedAt": ["type": "string", "format": "date-time"],
                    "links": [
                        "type": "object",
                        "properties": ["self": ["type": "string"], "rejectedRows": ["type": "string"]],
                    ],
                ],
            ]
        ]
    }
}
