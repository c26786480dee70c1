public import Crypto
public import FoundationEssentials
public import Networking

/// Where and for what tokens are asked: the Azure AD (Entra ID) v2.0 token endpoint of one tenant.
public struct TokenEndpoint: Sendable, Hashable {
    /// e.g. `https://login.microsoftonline.com` (`AZURE_AUTHORITY_HOST`), or the emulator.
    public var authorityHost: HTTPURL
    public var tenantId: String
    public var clientId: String
    /// e.g. `https://purview.azure.net/.default` (`PURVIEW_SCOPE`).
    public var scope: String

    public static let publicCloudAuthority = HTTPURL("https://login.microsoftonline.com")!
    public static let purviewScope = "https://purview.azure.net/.default"

    public init(authorityHost: HTTPURL, tenantId: String, clientId: String, scope: String = TokenEndpoint.purviewScope) {
        self.authorityHost = authorityHost
        self.tenantId = tenantId
        self.clientId = clientId
        self.scope = scope
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    public var tokenURL: HTTPURL {
        var url = authorityHost
        var base = url.pathAndQuery
        if let question = base.firstIndex(of: "?") { base = String(base[..<question]) }
        while base.hasSuffix("/") { base.removeLast() }
        url.pathAndQuery = base + "/" + FormEncoding.escape(tenantId) + "/oauth2/v2.0/token"
        return url
    }
}

/// How the gateway proves who it is to the token endpoint.
public enum ClientCredential: Sendable {
    /// `AZURE_CLIENT_SECRET`.
    case secret(String)
    /// `AZURE_CLIENT_CERTIFICATE_PATH`: a PEM holding the certificate and its private key; the client
    /// signs an RS256 assertion naming the certificate's SHA-1 thumbprint (`x5t`).
    case certificate(certificate: X509Certificate, key: RSAPrivateKey)
    /// `AZURE_FEDERATED_TOKEN_FILE`: a token issued to the workload (Kubernetes), re-read at every fetch
    /// because the kubelet rotates it.
    case federatedTokenFile(String)

    /// Loads a PEM file holding a certificate and its RSA private key.
    public static func certificate(pemFile path: String) throws -> ClientCredential {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenError(code: "configuration", message: "cannot read the client certificate file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        do {
            guard let certificate = try X509Certificate.certificates(pem: text).first else {
                throw TokenError(code: "configuration", message: "no certificate in \(path)")
            }
            let key = try RSAPrivateKey(pemBytes: Array(data))
            return .certificate(certificate: certificate, key: key)
        } catch let error as TokenError {
            throw error
        } catch {
            throw TokenError(code: "configuration", message: "\(path) must hold a PEM certificate and its RSA private key")
        }
    }
}

/// Fetches tokens with the OAuth2 client-credentials grant (RFC 6749 §4.4, RFC 7523 assertions).
public struct ClientCredentialsFetcher: TokenFetcher {
    public let endpoint: TokenEndpoint
    public let credential: ClientCredential
    let transport: any HTTPClientTransport
    let now: @Sendable () -> Date

    public init(
        endpoint: TokenEndpoint, credential: ClientCredential, transport: any HTTPClientTransport,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.endpoint = endpoint
        self.credential = credential
        self.transport = transport
        self.now = now
    }

    public func fetchToken() async throws(TokenError) -> AccessToken {
        var form: [(String, String)] = [
            ("client_id", endpoint.clientId), ("grant_type", "client_credentials"), ("scope", endpoint.scope),
        ]
        switch credential {
        case .secret(let secret):
            form.append(("client_secret", secret))
        case .certificate(let certificate, let key):
            form.append(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
            form.append(("client_assertion", try assertion(certificate: certificate, key: key)))
        case .federatedTokenFile(let path):
            form.append(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
            form.append(("client_assertion", try readFederatedToken(path)))
        }
        let request = HTTPClientRequest(
            method: .post, url: endpoint.tokenURL,
            headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"],
            body: FormEncoding.encode(form), timeout: .seconds(30))
        let response: HTTPClientResponse
        do throws(HTTPClientError) {
            response = try await transport.execute(request)
        } catch {
            throw TokenError(code: "unreachable", message: "token endpoint \(endpoint.tokenURL.origin): \(error)")
        }
        return try Self.parse(response)
    }

    /// Reads the token endpoint's answer: `access_token` + `expires_in` (+ `refresh_in`), or `error` +
    /// `error_description`. Error text comes from AAD and never contains what we sent.
    static func parse(_ response: HTTPClientResponse) throws(TokenError) -> AccessToken {
        let json = try? JSONValue(parsing: response.body)
        guard (200..<300).contains(response.status.code) else {
            let code = json?["error"]?.stringValue ?? "http_\(response.status.code)"
            let description = json?["error_description"]?.stringValue ?? response.status.reasonPhrase
            throw TokenError(code: code, message: String(description.prefix(1024)), status: response.status.code)
        }
        guard let token = json?["access_token"]?.stringValue, !token.isEmpty,
            let lifetime = seconds(json?["expires_in"]), lifetime > 0
        else {
            throw TokenError(code: "bad_response", message: "the token endpoint's answer has no access_token or expires_in", status: response.status.code)
        }
        let refreshIn = seconds(json?["refresh_in"])
        return AccessToken(value: token, lifetime: .seconds(lifetime), refreshIn: refreshIn.map { .seconds($0) })
    }

    /// AAD sends numbers; some proxies and older endpoints send them as strings.
    private static func seconds(_ value: JSONValue?) -> Int? {
        switch value {
        case .number(let number)?: Int(exactly: number.rounded(.down))
        case .string(let text)?: Int(text)
        default: nil
        }
    }

    private func assertion(certificate: X509Certificate, key: RSAPrivateKey) throws(TokenError) -> String {
        let issued = Int(now().timeIntervalSince1970)
        let header: JSONValue = ["alg": "RS256", "typ": "JWT", "x5t": .string(certificate.x5t)]
        let claims: JSONValue = [
            "aud": .string(endpoint.tokenURL.description), "iss": .string(endpoint.clientId),
            "sub": .string(endpoint.clientId), "jti": .string(UUID().uuidString.lowercased()),
            "nbf": .number(Double(issued)), "iat": .number(Double(issued)), "exp": .number(Double(issued + 600)),
        ]
        do {
            return try JWT.sign(headerJSON: header.serialized(), claimsJSON: claims.serialized(), using: .rs256(key))
        } catch {
            throw TokenError(code: "assertion_failed", message: "could not sign the client assertion with the certificate's key")
        }
    }

    private func readFederatedToken(_ path: String) throws(TokenError) -> String {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else {
            throw TokenError(code: "configuration", message: "cannot read the federated token file \(path)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingWhitespace()
        guard !token.isEmpty else { throw TokenError(code: "configuration", message: "the federated token file \(path) is empty") }
        return token
    }
}
