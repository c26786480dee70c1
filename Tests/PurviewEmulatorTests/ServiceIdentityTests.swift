import Crypto
import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

@Suite(.serialized)
struct ServiceIdentityTests {
    static let scope = "https://purview.azure.net/.default"

    @Test func tokenWithSecretWorksOnTheAPI() async throws {
        try await withEmulator { emulator in
            let response = try await emulator.tokenRequest(
                [
                    ("client_id", TestIds.requestor.clientId), ("grant_type", "client_credentials"),
                    ("client_info", "1"),
                    ("client_secret", "requestor-secret"), ("scope", Self.scope),
                ])
            #expect(response.status.code == 200)
            #expect(response.headers["Content-Type"] == "application/json; charset=utf-8")
            let reply = try response.json()
            #expect(reply["token_type"] == "Bearer")
            #expect(reply["expires_in"] == 3600)
            #expect(reply["ext_expires_in"] == 3600)
            #expect(reply["refresh_in"] == nil)
            let token = try #require(reply["access_token"]?.stringValue)
            let claims = try JSONValue(parsing: CompactJWT(parsing: token).payloadJSON)
            #expect(claims["oid"]?.stringValue == TestIds.requestor.objectId)
            #expect(claims["appid"]?.stringValue == TestIds.requestor.clientId)
            #expect(claims["tid"]?.stringValue == TestIds.tenant)
            #expect(claims["aud"] == "https://purview.azure.net")
            let expiry = try #require(claims["exp"]?.doubleValue)
            let issued = try #require(claims["iat"]?.doubleValue)
            #expect(expiry - issued == 3600)
            #expect(claims["nbf"] != nil && claims["iss"] != nil)
            let api = try await emulator.send(.get, EmulatorHarness.v2023("/workflow/workflows"), token: token)
            #expect(api.status.code == 200)
        }
    }

    @Test func longLifetimesAskForRefreshHalfWay() throws {
        let identity = EmulatorIdentity(config: serviceTestConfig(tokenLifetimeSeconds: 7200), signingKey: [1, 2, 3])
        let form = [
            ("client_id", TestIds.requestor.clientId), ("grant_type", "client_credentials"),
            ("client_secret", "requestor-secret"), ("scope", Self.scope),
        ]
        let reply = try identity.issueToken(form: form, tokenEndpointURL: "https://x/t", now: Date()).get()
        #expect(reply["expires_in"] == 7200)
        #expect(reply["refresh_in"] == 3600)
    }

    @Test func aRememberedTokenStillExpiresAndATamperedOneIsStillRefused() throws {
        let identity = EmulatorIdentity(config: serviceTestConfig(tokenLifetimeSeconds: 60), signingKey: [1, 2, 3])
        let issued = Date(timeIntervalSince1970: 1_800_000_000)
        let form = [
            ("client_id", TestIds.requestor.clientId), ("grant_type", "client_credentials"),
            ("client_secret", "requestor-secret"), ("scope", Self.scope),
        ]
        let reply = try identity.issueToken(form: form, tokenEndpointURL: "https://x/t", now: issued).get()
        let token = try #require(reply["access_token"]?.stringValue)
        let first = try identity.authenticate("Bearer " + token, now: issued.addingTimeInterval(1)).get()
        // The second call is answered from what the first one verified, with the same caller.
        #expect(try identity.authenticate("Bearer " + token, now: issued.addingTimeInterval(2)).get() == first)
        #expect(first == TestIds.requestor.objectId.lowercased())
        guard case .failure(let expired) = identity.authenticate("Bearer " + token, now: issued.addingTimeInterval(61))
        else {
            Issue.record("a remembered token was accepted after it expired")
            return
        }
        #expect(expired.message.contains("expired"))
        var tampered = Array(token.utf8)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let forged = String(decoding: tampered, as: UTF8.self)
        guard case .failure = identity.authenticate("Bearer " + forged, now: issued.addingTimeInterval(1)) else {
            Issue.record("a token with a changed signature was accepted")
            return
        }
    }

    struct RefusedCase: Sendable, CustomTestStringConvertible {
        var name: String
        var form: [String: String]
        var tenant = TestIds.tenant
        var status: Int
        var error: String
        var testDescription: String { name }
    }

    static let good = [
        "client_id": TestIds.requestor.clientId, "grant_type": "client_credentials",
        "client_secret": "requestor-secret",
        "scope": scope,
    ]

    static func with(_ changes: [String: String?]) -> [String: String] {
        var form = good
        for (key, value) in changes { form[key] = value }
        return form
    }

    static let refusedCases: [RefusedCase] = [
        RefusedCase(name: "wrong secret", form: with(["client_secret": "nope"]), status: 401, error: "invalid_client"),
        RefusedCase(
            name: "unknown client", form: with(["client_id": "99999999-0000-4000-8000-000000000009"]), status: 400,
            error: "unauthorized_client"),
        RefusedCase(
            name: "scope without /.default", form: with(["scope": "https://purview.azure.net/user_impersonation"]),
            status: 400, error: "invalid_scope"),
        RefusedCase(name: "no grant type", form: with(["grant_type": nil]), status: 400, error: "invalid_request"),
        RefusedCase(
            name: "other grant type", form: with(["grant_type": "password"]), status: 400,
            error: "unsupported_grant_type"),
        RefusedCase(name: "no credential", form: with(["client_secret": nil]), status: 401, error: "invalid_client"),
        RefusedCase(
            name: "secret of a certificate-only client", form: with(["client_id": TestIds.certificateClient.clientId]),
            status: 401, error: "invalid_client"),
        RefusedCase(
            name: "unknown tenant", form: good, tenant: "99999999-0000-4000-8000-000000000009", status: 400,
            error: "invalid_tenant"),
    ]

    @Test(arguments: refusedCases) func tokenRequestsRefusedLikeAzureAD(_ refused: RefusedCase) async throws {
        try await withEmulator(tls: false) { emulator in
            let response = try await emulator.tokenRequest(
                refused.form.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, tenant: refused.tenant)
            #expect(response.status.code == refused.status, "\(response.text)")
            let reply = try response.json()
            #expect(reply["error"]?.stringValue == refused.error)
            #expect(reply["error_description"]?.stringValue?.hasPrefix("AADSTS") == true)
            #expect(reply["access_token"] == nil)
        }
    }

    @Test func clientAssertionFromTheGatewaysFetcher() async throws {
        try await withEmulator { emulator in
            let fetcher = ClientCredentialsFetcher(
                endpoint: TokenEndpoint(
                    authorityHost: try #require(HTTPURL(emulator.base)), tenantId: TestIds.tenant,
                    clientId: TestIds.certificateClient.clientId),
                credential: .certificate(
                    certificate: try X509Certificate(pem: TestKeys.assertion.certificatePEM),
                    key: try RSAPrivateKey(pem: TestKeys.assertion.privateKeyPEM)),
                transport: emulator.client)
            let token = try await fetcher.fetchToken()
            let claims = try JSONValue(parsing: CompactJWT(parsing: token.value).payloadJSON)
            #expect(claims["oid"]?.stringValue == TestIds.certificateClient.objectId)
            #expect(claims["appidacr"] == "2")
            let api = try await emulator.send(.get, EmulatorHarness.v2023("/workflow/workflows"), token: token.value)
            #expect(api.status.code == 200)
        }
    }

    enum AssertionFlaw: String, CaseIterable, Sendable {
        case none, trailingSlashAudience, wrongKey, expired, wrongAudience, wrongIssuer, garbage
    }

    @Test(arguments: AssertionFlaw.allCases) func clientAssertionChecks(_ flaw: AssertionFlaw) async throws {
        try await withEmulator { emulator in
            let endpoint = emulator.base + "/\(TestIds.tenant)/oauth2/v2.0/token"
            let now = Date().timeIntervalSince1970.rounded(.down)
            var claims: JSONObject = [
                "aud": .string(endpoint), "iss": .string(TestIds.certificateClient.clientId),
                "sub": .string(TestIds.certificateClient.clientId), "jti": .string(UUID().uuidString),
                "nbf": .number(now), "exp": .number(now + 600),
            ]
            var key = TestKeys.assertion.privateKeyPEM
            switch flaw {
            case .none: break
            case .trailingSlashAudience: claims["aud"] = .string(endpoint + "/")
            case .wrongKey: key = TestKeys.stranger.privateKeyPEM
            case .expired:
                claims["nbf"] = .number(now - 1200)
                claims["exp"] = .number(now - 600)
            case .wrongAudience:
                claims["aud"] = .string("https://login.microsoftonline.com/\(TestIds.tenant)/oauth2/v2.0/token")
            case .wrongIssuer: claims["iss"] = .string(TestIds.requestor.clientId)
            case .garbage: break
            }
            let assertion =
                flaw == .garbage
                ? "not.a.jwt"
                : try signedJWT(.object(claims), algorithm: "RS256", signer: .rs256(RSAPrivateKey(pem: key)))
            let response = try await emulator.tokenRequest([
                ("client_id", TestIds.certificateClient.clientId), ("grant_type", "client_credentials"),
                ("scope", Self.scope), ("client_assertion_type", EmulatorIdentity.assertionType),
                ("client_assertion", assertion),
            ])
            if flaw == .none || flaw == .trailingSlashAudience {
                #expect(response.status.code == 200, "\(response.text)")
                #expect(try response.json()["access_token"]?.stringValue != nil)
            } else {
                #expect(response.status.code == 401, "\(response.text)")
                #expect(response.errorCode == "invalid_client")
            }
        }
    }

    @Test func openIDConfigurationHasWhatMSALNeeds() async throws {
        try await withEmulator { emulator in
            let response = try await emulator.send(.get, "/\(TestIds.tenant)/v2.0/.well-known/openid-configuration")
            #expect(response.status.code == 200)
            let document = try response.json()
            let tokenEndpoint = try #require(document["token_endpoint"]?.stringValue)
            #expect(tokenEndpoint == emulator.base + "/\(TestIds.tenant)/oauth2/v2.0/token")
            let url = try #require(HTTPURL(tokenEndpoint))
            #expect(url.scheme == .https)
            #expect(url.pathAndQuery.split(separator: "/").first.map(String.init) == TestIds.tenant)
            #expect(
                document["authorization_endpoint"]?.stringValue == emulator.base
                    + "/\(TestIds.tenant)/oauth2/v2.0/authorize")
            #expect(document["issuer"]?.stringValue == emulator.base + "/\(TestIds.tenant)/v2.0")
            let keys = try await emulator.send(.get, "/\(TestIds.tenant)/discovery/v2.0/keys")
            #expect(try keys.json()["keys"] == [])

            let unknown = try await emulator.send(
                .get, "/99999999-0000-4000-8000-000000000009/v2.0/.well-known/openid-configuration")
            #expect(unknown.status.code == 400)
            #expect(unknown.errorCode == "invalid_tenant")
        }
    }
}
