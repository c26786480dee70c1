import Crypto
import FoundationEssentials
import PurviewWorkflow
import Synchronization

/// The emulator's Azure AD: OpenID discovery, the client-credentials token endpoint (secrets and RS256
/// client assertions), and checking the HS256 access tokens it issued.
///
/// Token times use the wall clock, not the emulator's advanced time, so moving the emulator's clock
/// forward (to expire tasks) does not invalidate the tokens clients hold.
struct EmulatorIdentity: Sendable {
    /// The resource Purview tokens are issued for (`aud`).
    static let purviewAudience = "https://purview.azure.net"
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// Allowed clock difference for `nbf` of assertions and tokens.
    static let clockSkewSeconds: Double = 300

    let tenantId: String
    let principals: [EmulatorConfig.Principal]
    let assertionVerifiers: [String: JWTVerifier]
    let signingKey: [UInt8]
    let lifetimeSeconds: Int
    /// Tokens whose signature and fixed claims were checked, so a client's next call with the same token only
    /// has its validity window checked again.
    let verifiedTokens = VerifiedTokens()

    init(config: EmulatorConfig, signingKey: [UInt8]) {
        tenantId = config.tenantId
        principals = config.principals
        var verifiers: [String: JWTVerifier] = [:]
        for principal in config.principals {
            guard let pem = principal.certificatePem, let certificate = try? X509Certificate(pem: pem),
                let verifier = try? JWTVerifier.rs256(certificate: certificate)
            else { continue }
            verifiers[principal.clientId] = verifier
        }
        assertionVerifiers = verifiers
        self.signingKey = signingKey
        lifetimeSeconds = config.tokenLifetimeSeconds
    }

    /// The access-token key: the config's `tokenSigningKey`; else, when state persists across restarts,
    /// HMAC-SHA256(adminToken, "purview-emulator token key|" + tenantId) so tokens outlive a restart;
    /// else 32 random bytes.
    static func signingKey(for config: EmulatorConfig, persistent: Bool) -> [UInt8] {
        if let key = config.tokenSigningKey { return Array(key.utf8) }
        if persistent {
            return HMAC.sha256(
                key: Array(config.adminToken.utf8), data: Array("purview-emulator token key|\(config.tenantId)".utf8))
        }
        return SecureRandom.bytes(count: 32)
    }

    func knowsTenant(_ tenant: String) -> Bool { tenant.lowercased() == tenantId }

    /// `{base}/{tenant}/v2.0/.well-known/openid-configuration`, with every endpoint under `base`.
    func openIDConfiguration(base: String, tenant: String) -> JSONValue {
        let root = base + "/" + tenant
        return [
            "token_endpoint": .string(root + "/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": .string(root + "/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": .string(root + "/v2.0"),
            "request_uri_parameter_supported": false,
            // Azure AD publishes Microsoft Graph's userinfo and hosts; the emulator serves no user sign-in.
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": .string(root + "/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": .string(root + "/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": .string(root + "/oauth2/v2.0/logout"),
            "claims_supported": [
                "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host",
                "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash",
                "c_hash", "email",
            ],
            "kerberos_endpoint": .string(root + "/kerberos"),
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
        ]
    }

    /// Answers a token request (the form's pairs) made to `tokenEndpointURL`.
    func issueToken(form: [(String, String)], tokenEndpointURL: String, now: Date) -> Result<JSONValue, IdentityFailure>
    {
        func field(_ name: String) -> String? {
            form.first { $0.0 == name }.map(\.1).flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let grantType = field("grant_type") else { return .failure(.missingParameter("grant_type")) }
        guard grantType == "client_credentials" else {
            return .failure(
                IdentityFailure(
                    status: 400, error: "unsupported_grant_type", code: 70003,
                    description: "The app requested an unsupported grant type '\(grantType)'."))
        }
        guard let clientId = field("client_id") else { return .failure(.missingParameter("client_id")) }
        guard let scope = field("scope") else { return .failure(.missingParameter("scope")) }
        guard let resourceScope = scope.split(separator: " ").first(where: { $0.hasSuffix("/.default") }) else {
            return .failure(
                IdentityFailure(
                    status: 400, error: "invalid_scope", code: 1_002_012,
                    description:
                        "The provided value for scope \(scope) is not valid. Client credential flows must have a "
                        + "scope value with /.default suffixed to the resource identifier (application ID URI)."))
        }
        guard let principal = principals.first(where: { $0.clientId == clientId.lowercased() }) else {
            return .failure(
                IdentityFailure(
                    status: 400, error: "unauthorized_client", code: 700_016,
                    description: "Application with identifier '\(clientId)' was not found in the directory "
                        + "'\(tenantId)'."))
        }
        if let assertion = field("client_assertion") {
            guard field("client_assertion_type") == Self.assertionType else {
                return .failure(
                    IdentityFailure(
                        status: 400, error: "invalid_request", code: 50_027,
                        description: "client_assertion_type must be '\(Self.assertionType)'."))
            }
            if let failure = checkAssertion(assertion, principal: principal, audience: tokenEndpointURL, now: now) {
                return .failure(failure)
            }
        } else if let secret = field("client_secret") {
            guard let expected = principal.clientSecret, constantTimeEquals(Array(secret.utf8), Array(expected.utf8))
            else {
                return .failure(
                    .invalidClient(
                        7_000_215,
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                            + "secret value, not the client secret ID, for a secret added to app '\(principal.clientId)'."
                    ))
            }
        } else {
            return .failure(
                .invalidClient(
                    7_000_218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."))
        }
        let resource = String(resourceScope.dropLast("/.default".count))
        let issued = now.timeIntervalSince1970.rounded(.down)
        let claims: JSONValue = [
            "aud": .string(resource), "iss": .string("https://sts.windows.net/\(tenantId)/"),
            "iat": .number(issued), "nbf": .number(issued), "exp": .number(issued + Double(lifetimeSeconds)),
            "appid": .string(principal.clientId), "appidacr": principal.certificatePem != nil ? "2" : "1",
            "idp": .string("https://sts.windows.net/\(tenantId)/"), "idtyp": "app", "name": .string(principal.name),
            "oid": .string(principal.objectId), "sub": .string(principal.objectId), "tid": .string(tenantId),
            "uti": .string(Base64URL.encode(SecureRandom.bytes(count: 16))), "ver": "1.0",
        ]
        let header: JSONValue = ["alg": "HS256", "typ": "JWT"]
        guard
            let token = try? JWT.sign(
                headerJSON: header.serialized(), claimsJSON: claims.serialized(), using: .hs256(key: signingKey))
        else {
            return .failure(
                IdentityFailure(status: 500, error: "server_error", code: 90_000, description: "signing failed"))
        }
        var reply: JSONObject = [
            "token_type": "Bearer", "expires_in": .number(Double(lifetimeSeconds)),
            "ext_expires_in": .number(Double(lifetimeSeconds)), "access_token": .string(token),
        ]
        // As Azure AD does for long-lived tokens: ask clients to refresh half way through.
        if lifetimeSeconds >= 7200 { reply["refresh_in"] = .number(Double(lifetimeSeconds / 2)) }
        return .success(.object(reply))
    }

    /// Checks an RS256 client assertion against the principal's certificate: signature, audience (the
    /// token endpoint, with or without a trailing slash), expiry, not-before, issuer and subject.
    private func checkAssertion(
        _ assertion: String, principal: EmulatorConfig.Principal, audience: String, now: Date
    ) -> IdentityFailure? {
        guard let verifier = assertionVerifiers[principal.clientId] else {
            return .invalidClient(
                700_027, "The application '\(principal.clientId)' has no certificate to verify client assertions with.")
        }
        guard let jwt = try? CompactJWT(parsing: assertion), let claims = try? JSONValue(parsing: jwt.payloadJSON),
            claims.objectValue != nil
        else { return .invalidClient(50_027, "The client assertion is not a valid JWT.") }
        guard jwt.verifySignature(using: verifier) else {
            return .invalidClient(700_027, "Client assertion failed signature validation.")
        }
        let audiences =
            claims["aud"]?.arrayValue?.compactMap(\.stringValue) ?? [claims["aud"]?.stringValue].compactMap { $0 }
        let wanted = audience.lowercased()
        guard audiences.contains(where: { $0.lowercased() == wanted || $0.lowercased() == wanted + "/" }) else {
            return .invalidClient(
                700_212, "The client assertion's audience claim does not match the token endpoint \(audience).")
        }
        let time = now.timeIntervalSince1970
        guard let expiry = claims["exp"]?.doubleValue, expiry > time else {
            return .invalidClient(700_024, "Client assertion is not within its valid time range (exp).")
        }
        if let notBefore = claims["nbf"]?.doubleValue, notBefore > time + Self.clockSkewSeconds {
            return .invalidClient(700_024, "Client assertion is not within its valid time range (nbf).")
        }
        guard claims["iss"]?.stringValue?.lowercased() == principal.clientId,
            claims["sub"]?.stringValue?.lowercased() == principal.clientId
        else {
            return .invalidClient(700_023, "The client assertion's iss and sub claims must be the client id.")
        }
        return nil
    }

    /// Checks `Authorization: Bearer <token>`: our signature, not expired, this tenant, Purview's audience.
    /// Returns the caller's object id, or why the token is refused.
    func authenticate(_ authorization: String?, now: Date) -> Result<String, AuthenticationFailure> {
        guard let authorization else {
            return .failure(AuthenticationFailure("The request has no Authorization header."))
        }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .failure(AuthenticationFailure("The Authorization header must hold a bearer token."))
        }
        let time = now.timeIntervalSince1970
        let token = String(parts[1])
        if let known = verifiedTokens.lookup(token) {
            return Self.checkWindow(expiry: known.expiry, notBefore: known.notBefore, at: time).map { known.objectId }
        }
        guard let jwt = try? CompactJWT(parsing: parts[1]), jwt.verifySignature(using: .hs256(key: signingKey)),
            let claims = try? JSONValue(parsing: jwt.payloadJSON)
        else { return .failure(AuthenticationFailure("The access token is not valid.")) }
        guard let expiry = claims["exp"]?.doubleValue else {
            return .failure(AuthenticationFailure("The access token has expired."))
        }
        let notBefore = claims["nbf"]?.doubleValue
        if case .failure(let failure) = Self.checkWindow(expiry: expiry, notBefore: notBefore, at: time) {
            return .failure(failure)
        }
        guard claims["tid"]?.stringValue?.lowercased() == tenantId else {
            return .failure(AuthenticationFailure("The access token was issued for another tenant."))
        }
        let audience = claims["aud"]?.stringValue ?? ""
        guard audience == Self.purviewAudience || audience == Self.purviewAudience + "/" else {
            return .failure(AuthenticationFailure("The access token's audience is not \(Self.purviewAudience)."))
        }
        guard let objectId = claims["oid"]?.stringValue, !objectId.isEmpty else {
            return .failure(AuthenticationFailure("The access token names no principal (oid)."))
        }
        let caller = objectId.lowercased()
        verifiedTokens.remember(token, .init(objectId: caller, expiry: expiry, notBefore: notBefore))
        return .success(caller)
    }

    private static func checkWindow(expiry: Double, notBefore: Double?, at time: Double) -> Result<
        Void, AuthenticationFailure
    > {
        guard expiry > time else { return .failure(AuthenticationFailure("The access token has expired.")) }
        if let notBefore, notBefore > time + clockSkewSeconds {
            return .failure(AuthenticationFailure("The access token is not yet valid."))
        }
        return .success(())
    }
}

/// Access tokens already verified, with what a later call needs of them; bounded (emptied when full, since
/// clients hold few tokens and re-verifying one is only a little work).
final class VerifiedTokens: Sendable {
    struct Token: Sendable {
        let objectId: String
        let expiry: Double
        let notBefore: Double?
    }

    private static let capacity = 4_096
    private let tokens = Mutex<[String: Token]>([:])

    func lookup(_ token: String) -> Token? { tokens.withLock { $0[token] } }

    func remember(_ token: String, _ facts: Token) {
        tokens.withLock { tokens in
            if tokens.count >= Self.capacity { tokens.removeAll(keepingCapacity: true) }
            tokens[token] = facts
        }
    }
}

/// Why an API call's token was refused (401).
struct AuthenticationFailure: Error, Sendable {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A token endpoint error in Azure AD's shape: `{"error","error_description","error_codes",...}`.
struct IdentityFailure: Error, Sendable {
    let status: Int
    let error: String
    let code: Int
    let description: String

    static func invalidClient(_ code: Int, _ description: String) -> IdentityFailure {
        IdentityFailure(status: 401, error: "invalid_client", code: code, description: description)
    }

    static func missingParameter(_ name: String) -> IdentityFailure {
        IdentityFailure(
            status: 400, error: "invalid_request", code: 900_144,
            description: "The request body must contain the following parameter: '\(name)'.")
    }

    static func unknownTenant(_ tenant: String) -> IdentityFailure {
        IdentityFailure(
            status: 400, error: "invalid_tenant", code: 90002,
            description: "Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID and are "
                + "signing into the correct cloud.")
    }

    func json(traceId: String, now: Date) -> JSONValue {
        [
            "error": .string(error), "error_description": .string("AADSTS\(code): \(description)"),
            "error_codes": [.number(Double(code))],
            "timestamp": .string(PurviewTimestamp(now).formatted(fractionDigits: 0)),
            "trace_id": .string(traceId), "correlation_id": .string(traceId),
        ]
    }
}
