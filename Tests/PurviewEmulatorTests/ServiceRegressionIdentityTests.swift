import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// Found by replaying the recorded Azure AD traffic (Tests/python/test_recordings_replay.py): the
/// OpenID configuration lacked fields Azure AD publishes, and MSAL's instance discovery had no route.
@Suite(.serialized)
struct ServiceRegressionIdentityTests {
    /// The keys of the OpenID configuration Azure AD served in the recorded Python SDK sessions.
    static let recordedOpenIDKeys: Set<String> = [
        "token_endpoint", "token_endpoint_auth_methods_supported", "jwks_uri", "response_modes_supported",
        "subject_types_supported", "id_token_signing_alg_values_supported", "response_types_supported",
        "scopes_supported", "issuer", "request_uri_parameter_supported", "userinfo_endpoint", "authorization_endpoint",
        "device_authorization_endpoint", "http_logout_supported", "frontchannel_logout_supported",
        "end_session_endpoint", "claims_supported", "kerberos_endpoint", "tenant_region_scope", "cloud_instance_name",
        "cloud_graph_host_name", "msgraph_host", "rbac_url",
    ]

    @Test func openIDConfigurationHasTheFieldsAzureADPublishes() async throws {
        try await withEmulator { emulator in
            let response = try await emulator.send(.get, "/\(TestIds.tenant)/v2.0/.well-known/openid-configuration")
            #expect(response.status.code == 200)
            let document = try #require(try response.json().objectValue)
            #expect(Set(document.keys) == Self.recordedOpenIDKeys)
            let root = emulator.base + "/" + TestIds.tenant
            #expect(document["kerberos_endpoint"] == .string(root + "/kerberos"))
            #expect(document["http_logout_supported"] == true)
            #expect(document["claims_supported"]?.arrayValue?.contains("tid") == true)
        }
    }

    @Test func instanceDiscoveryPointsAtTheTenantsOpenIDConfiguration() async throws {
        try await withEmulator { emulator in
            // As MSAL asks: the authority's host without its port.
            let authorize = "https://127.0.0.1/" + TestIds.tenant + "/oauth2/v2.0/authorize"
            let query = String(
                decoding: FormEncoding.encode([("api-version", "1.1"), ("authorization_endpoint", authorize)]),
                as: UTF8.self)
            let response = try await emulator.send(.get, "/common/discovery/instance?" + query)
            #expect(response.status.code == 200)
            #expect(response.headers["Content-Type"] == "application/json; charset=utf-8")
            let answer = try response.json()
            #expect(Set(answer.objectValue?.keys ?? []) == ["tenant_discovery_endpoint", "api-version", "metadata"])
            let host: JSONValue = "127.0.0.1"
            #expect(answer["metadata"] == [["preferred_network": host, "preferred_cache": host, "aliases": [host]]])
            let discovery = try #require(answer["tenant_discovery_endpoint"]?.stringValue)
            #expect(discovery == emulator.base + "/" + TestIds.tenant + "/v2.0/.well-known/openid-configuration")
            // What MSAL does next: fetch that document.
            let document = try await emulator.send(.get, String(discovery.dropFirst(emulator.base.count)))
            #expect(document.status.code == 200)
            let tokenEndpoint = emulator.base + "/" + TestIds.tenant + "/oauth2/v2.0/token"
            #expect(try document.json()["token_endpoint"] == .string(tokenEndpoint))
        }
    }

    @Test func instanceDiscoveryRefusesOtherHostsAndMissingEndpoints() async throws {
        try await withEmulator { emulator in
            let foreign = try await emulator.send(
                .get,
                "/common/discovery/instance?api-version=1.1&authorization_endpoint="
                    + "https%3A%2F%2Flogin.microsoftonline.com%2Fcommon%2Foauth2%2Fauthorize")
            #expect(foreign.status.code == 400)
            #expect(foreign.errorCode == "invalid_instance")
            let missing = try await emulator.send(.get, "/common/discovery/instance?api-version=1.1")
            #expect(missing.status.code == 400)
            #expect(missing.errorCode == "invalid_request")
        }
    }
}
