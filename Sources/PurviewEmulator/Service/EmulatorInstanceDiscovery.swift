import Networking
import PurviewWorkflow

// Azure AD's instance discovery, `GET /common/discovery/instance?authorization_endpoint=...`: MSAL asks
// it before trusting an authority host it does not know (azure-identity's `disable_instance_discovery`
// turns that off), and MSAL accepts this endpoint's URL in place of Microsoft's (`instance_discovery=`).

extension EmulatorIdentity {
    /// The answer for an authorization endpoint on this emulator's host (`base` is its scheme, host and
    /// port): where the tenant's OpenID configuration is (always the v2.0 document, the one the emulator
    /// serves) and the host's aliases. Another host is an unknown instance (400 `invalid_instance`).
    func instanceDiscovery(base: String, authorizationEndpoint: String?) -> Result<JSONValue, IdentityFailure> {
        guard let authorizationEndpoint, !authorizationEndpoint.isEmpty else {
            return .failure(
                IdentityFailure(
                    status: 400, error: "invalid_request", code: 90_014,
                    description: "The required field 'authorization_endpoint' is missing from the request."))
        }
        // Instances are host names: MSAL leaves the port out of the endpoint it asks about.
        guard let endpoint = HTTPURL(authorizationEndpoint), let own = HTTPURL(base), endpoint.host == own.host else {
            return .failure(
                IdentityFailure(
                    status: 400, error: "invalid_instance", code: 50_049, description: "Unknown or invalid instance."))
        }
        let path = endpoint.pathAndQuery.split(separator: "?", maxSplits: 1).first ?? ""
        let tenant = path.split(separator: "/").first.map(String.init) ?? "common"
        let host = JSONValue.string(own.host)
        return .success([
            "tenant_discovery_endpoint": .string(own.origin + "/" + tenant + "/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [["preferred_network": host, "preferred_cache": host, "aliases": [host]]],
        ])
    }
}
