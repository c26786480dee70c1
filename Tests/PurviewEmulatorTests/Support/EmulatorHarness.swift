import Crypto
import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Synchronization
import Testing

@testable import PurviewEmulator

/// An application of the test configuration.
struct TestPrincipal: Sendable {
    var clientId: String
    var secret: String?
    var objectId: String
    var email: String
}

/// Fixed ids and keys of the service tests.
enum TestIds {
    static let tenant = "0b5e0000-0000-4000-8000-000000000001"
    static let signingKey = "service-tests-token-signing-key"
    static let adminToken = "service-tests-admin-token"
    static let requestor = TestPrincipal(
        clientId: "c1000000-0000-4000-8000-000000000001", secret: "requestor-secret",
        objectId: "01000000-0000-4000-8000-0000000000a1", email: "rita@contoso.com")
    static let approver = TestPrincipal(
        clientId: "c2000000-0000-4000-8000-000000000002", secret: "approver-secret",
        objectId: "02000000-0000-4000-8000-0000000000a2", email: "ada@contoso.com")
    static let admin = TestPrincipal(
        clientId: "c3000000-0000-4000-8000-000000000003", secret: "admin-secret",
        objectId: "03000000-0000-4000-8000-0000000000a3", email: "admin@contoso.com")
    /// Authenticates with a client assertion only (``TestKeys/assertion``).
    static let certificateClient = TestPrincipal(
        clientId: "c4000000-0000-4000-8000-000000000004", secret: nil,
        objectId: "04000000-0000-4000-8000-0000000000a4", email: "robot@contoso.com")
    static let termWorkflowId = "f1000000-0000-4000-8000-000000000001"
    static let taskWorkflowId = "f2000000-0000-4000-8000-000000000002"
    static let glossaryGuid = "20031e20-b4df-4a66-a61d-1b0716f3fa48"
}

/// Keys and certificates made once per test process (RSA generation is the slow part).
enum TestKeys {
    struct Pair: Sendable {
        let certificatePEM: String
        let privateKeyPEM: String
    }

    /// The emulator's TLS certificate, trusted by the test clients.
    static let tls = generate("127.0.0.1")
    /// ``TestIds/certificateClient``'s certificate and key.
    static let assertion = generate("assertion-client")
    /// A key nobody registered.
    static let stranger = generate("stranger")

    private static func generate(_ name: String) -> Pair {
        let made = try! SelfSignedCertificate.generate(commonName: name)
        return Pair(certificatePEM: made.certificatePEM, privateKeyPEM: made.privateKeyPEM)
    }
}

/// The term-creation approval (with a daily reminder and expiry after three days, notifying the
/// admin) and a SimpleTask workflow for asset updates.
func serviceTestConfig(
    maxRequestBodyBytes: Int = 1 << 20, faults: [EmulatorFault] = [], signingKey: String? = TestIds.signingKey,
    tokenLifetimeSeconds: Int = 3600
) -> EmulatorConfig {
    func principal(_ test: TestPrincipal, name: String, admin: Bool = false, certificate: String? = nil)
        -> EmulatorConfig.Principal
    {
        EmulatorConfig.Principal(
            clientId: test.clientId, clientSecret: test.secret, objectId: test.objectId, name: name,
            email: test.email, certificatePem: certificate, isAdministrator: admin)
    }
    let termWorkflow: JSONValue = [
        "id": .string(TestIds.termWorkflowId), "name": "Term approval", "description": "", "isEnabled": true,
        "triggers": [["type": "when_term_creation_is_requested"]],
        "actionDag": [
            "actions": [
                "Approval": [
                    "type": "Approval", "runAfter": [:],
                    "inputs": [
                        "parameters": [
                            "approvalType": "PendingOnAny", "title": "Approve the term",
                            "assignedTo": [.string(TestIds.approver.email)],
                            "reminderSettings": ["interval": "1 day"],
                            "expirySettings": [
                                "expireAfter": "3 days", "notifyOnExpiration": [.string(TestIds.admin.email)],
                            ],
                        ]
                    ],
                ],
                "Decision": [
                    "type": "If", "runAfter": ["Approval": ["Succeeded"]],
                    "expression": ["and": [["equals": ["@{outputs('Approval')['outcome']}", "Approved"]]]],
                    "actions": ["Create": ["type": "CreateTerm", "runAfter": [:]]],
                    "else": [
                        "actions": [
                            "Tell": [
                                "type": "EmailNotification", "runAfter": [:],
                                "inputs": [
                                    "parameters": [
                                        "emailSubject": "Rejected",
                                        "emailMessage": "@{runInput()['term']['name']} was rejected",
                                        "emailRecipients": [.string(TestIds.requestor.email)],
                                    ]
                                ],
                            ]
                        ]
                    ],
                ],
            ]
        ],
    ]
    let taskWorkflow: JSONValue = [
        "id": .string(TestIds.taskWorkflowId), "name": "Asset check", "description": "", "isEnabled": true,
        "triggers": [["type": "when_asset_update_is_requested"]],
        "actionDag": [
            "actions": [
                "Check": [
                    "type": "Task", "runAfter": [:],
                    "inputs": [
                        "parameters": [
                            "taskBody": "Check the asset", "assignedTo": [.string(TestIds.approver.objectId)],
                        ]
                    ],
                ]
            ]
        ],
    ]
    return EmulatorConfig(
        tenantId: TestIds.tenant, adminToken: TestIds.adminToken,
        principals: [
            principal(TestIds.requestor, name: "Rita"), principal(TestIds.approver, name: "Ada"),
            principal(TestIds.admin, name: "Admin", admin: true),
            principal(TestIds.certificateClient, name: "Robot", certificate: TestKeys.assertion.certificatePEM),
        ],
        workflows: [termWorkflow, taskWorkflow], faults: faults, accountName: "contoso",
        tokenLifetimeSeconds: tokenLifetimeSeconds, tokenSigningKey: signingKey,
        maxRequestBodyBytes: maxRequestBodyBytes)
}

/// A CreateTerm user request for a term called `name`.
func createTermRequest(_ name: String, comment: String? = nil) -> JSONValue {
    var object: JSONObject = [
        "operations": [
            [
                "type": "CreateTerm",
                "payload": [
                    "glossaryTerm": ["name": .string(name), "anchor": ["glossaryGuid": .string(TestIds.glossaryGuid)]]
                ],
            ]
        ]
    ]
    if let comment { object["comment"] = .string(comment) }
    return .object(object)
}

/// A clock the test moves by hand.
final class ManualClock: EmulatorClock {
    private let current: Mutex<Date>
    init(_ start: Date = Date()) { current = Mutex(start) }
    func now() -> Date { current.withLock { $0 } }
    func advance(seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A running emulator on 127.0.0.1 (https unless told otherwise) and a client that trusts it.
final class EmulatorHarness: Sendable {
    let service: EmulatorService
    let client: HTTPClient
    let base: String

    init(
        config: EmulatorConfig = serviceTestConfig(), statePath: String? = nil, tls: Bool = true,
        clock: any EmulatorClock = SystemClock()
    ) throws {
        if let statePath {
            service = try EmulatorService(config: config, statePath: statePath, clock: clock)
        } else {
            service = EmulatorService(config: config, clock: clock)
        }
        let context =
            tls
            ? try TLSContext(
                server: TLSServerConfiguration(
                    certificateChain: .string(TestKeys.tls.certificatePEM),
                    privateKey: .string(TestKeys.tls.privateKeyPEM)))
            : nil
        let port = try service.start(listen: "127.0.0.1", port: 0, tls: context)
        base = (tls ? "https" : "http") + "://127.0.0.1:\(port)"
        client = try HTTPClient(
            configuration: HTTPClientConfiguration(
                connectTimeout: .seconds(5), requestTimeout: .seconds(10),
                tls: TLSClientConfiguration(
                    trustStore: TLSTrustStore(
                        usesSystemDefaultPaths: false, additionalRootsPEM: [TestKeys.tls.certificatePEM]))))
    }

    func stop() async {
        await client.shutdown()
        await service.shutdown()
    }

    /// Sends a request to `path` (with its query). `json` becomes the body with its Content-Type.
    func send(
        _ method: HTTPMethod, _ path: String, token: String? = nil, headers: HTTPFields = [:], json: JSONValue? = nil,
        body: [UInt8]? = nil
    ) async throws -> HTTPClientResponse {
        var fields = headers
        if let token { fields.set("Authorization", "Bearer " + token) }
        var bytes = body
        if let json {
            bytes = json.serialized()
            fields.set("Content-Type", "application/json")
        }
        let url = try #require(HTTPURL(base + path))
        return try await client.execute(HTTPClientRequest(method: method, url: url, headers: fields, body: bytes))
    }

    /// `POST /{tenant}/oauth2/v2.0/token` with the form `fields`.
    func tokenRequest(_ fields: [(String, String)], tenant: String = TestIds.tenant) async throws -> HTTPClientResponse
    {
        try await send(
            .post, "/\(tenant)/oauth2/v2.0/token", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: FormEncoding.encode(fields))
    }

    /// An access token for `principal` (client credentials with its secret).
    func token(_ principal: TestPrincipal = TestIds.requestor) async throws -> String {
        let response = try await tokenRequest([
            ("client_id", principal.clientId), ("grant_type", "client_credentials"),
            ("client_secret", principal.secret ?? ""), ("scope", "https://purview.azure.net/.default"),
        ])
        #expect(
            response.status.code == 200,
            "token for \(principal.clientId): \(String(decoding: response.body, as: UTF8.self))")
        return try #require(try response.json()["access_token"]?.stringValue)
    }

    /// The admin routes' authorization.
    var adminHeaders: HTTPFields { ["Authorization": "Bearer " + TestIds.adminToken] }

    /// `api-version=2023-10-01-preview` appended to `path`.
    static func v2023(_ path: String) -> String {
        path + (path.contains("?") ? "&" : "?") + "api-version=2023-10-01-preview"
    }
}

/// Starts an emulator, runs `body`, and stops it whatever happens.
func withEmulator<R>(
    config: EmulatorConfig = serviceTestConfig(), statePath: String? = nil, tls: Bool = true,
    clock: any EmulatorClock = SystemClock(), _ body: (EmulatorHarness) async throws -> R
) async throws -> R {
    let harness = try EmulatorHarness(config: config, statePath: statePath, tls: tls, clock: clock)
    do {
        let result = try await body(harness)
        await harness.stop()
        return result
    } catch {
        await harness.stop()
        throw error
    }
}

extension HTTPClientResponse {
    func json() throws -> JSONValue { try JSONValue(parsing: body) }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The error envelope's code (`{"error":{"code":...}}`), else the AAD error (`{"error":"..."}`).
    var errorCode: String? {
        guard let json = try? json() else { return nil }
        return json["error"]?["code"]?.stringValue ?? json["error"]?.stringValue
    }
}

/// A temporary directory removed by the caller.
func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("emulator-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A signed JWT from claims, for hand-made assertions and tokens.
func signedJWT(_ claims: JSONValue, algorithm: String, signer: JWTSigner) throws -> String {
    try JWT.sign(
        headerJSON: JSONValue.object(["alg": .string(algorithm), "typ": "JWT"]).serialized(),
        claimsJSON: claims.serialized(), using: signer)
}
