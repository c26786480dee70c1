import Crypto
import FoundationEssentials
public import PurviewWorkflow

/// What an emulator process serves: its tenant, the principals that may get tokens, the workflows it
/// starts with and the faults it injects. Read from a JSON file (``load(path:)``) or built in code
/// (``demo()``).
public struct EmulatorConfig: Sendable, Hashable {
    /// An application registration: it gets tokens with its secret or certificate, and acts in the API
    /// as `objectId`.
    public struct Principal: Sendable, Hashable {
        public var clientId: String
        public var clientSecret: String?
        public var objectId: String
        public var name: String
        public var email: String?
        /// A PEM certificate whose key signs client assertions (RS256).
        public var certificatePem: String?
        /// Administrators see every run and may cancel anyone's.
        public var isAdministrator: Bool

        public init(
            clientId: String, clientSecret: String? = nil, objectId: String, name: String, email: String? = nil,
            certificatePem: String? = nil, isAdministrator: Bool = false
        ) {
            self.clientId = clientId.lowercased()
            self.clientSecret = clientSecret
            self.objectId = objectId.lowercased()
            self.name = name
            self.email = email
            self.certificatePem = certificatePem
            self.isAdministrator = isAdministrator
        }
    }

    public var tenantId: String
    /// The Purview account name, which is also the root collection.
    public var accountName: String
    public var tokenLifetimeSeconds: Int
    /// HS256 key for access tokens; nil means one derived or made at start (see docs/EMULATOR.md).
    public var tokenSigningKey: String?
    /// Bearer token of the `/_emulator/...` routes.
    public var adminToken: String
    public var principals: [Principal]
    /// Workflows as `PUT /workflows/{id}` takes them, each with its `id`.
    public var workflows: [JSONValue]
    public var faults: [EmulatorFault]
    /// Larger request bodies are refused with 413.
    public var maxRequestBodyBytes: Int

    public init(
        tenantId: String, adminToken: String, principals: [Principal], workflows: [JSONValue] = [],
        faults: [EmulatorFault] = [], accountName: String = "purview-emulator", tokenLifetimeSeconds: Int = 3600,
        tokenSigningKey: String? = nil, maxRequestBodyBytes: Int = 1 << 20
    ) {
        self.tenantId = tenantId.lowercased()
        self.adminToken = adminToken
        self.principals = principals
        self.workflows = workflows
        self.faults = faults
        self.accountName = accountName
        self.tokenLifetimeSeconds = tokenLifetimeSeconds
        self.tokenSigningKey = tokenSigningKey
        self.maxRequestBodyBytes = maxRequestBodyBytes
    }

    /// Reads and checks a config file; errors name the offending key.
    public static func load(path: String) throws(EmulatorConfigError) -> EmulatorConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EmulatorConfigError(key: "--config", message: "cannot read \(path)")
        }
        return try parse(Array(data))
    }

    /// Parses and checks config JSON; errors name the offending key (`principals[1].clientId`).
    public static func parse(_ bytes: some Sequence<UInt8>) throws(EmulatorConfigError) -> EmulatorConfig {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: Array(bytes))
        } catch {
            throw EmulatorConfigError(key: "(file)", message: "not valid JSON: \(error)")
        }
        guard let root = json.objectValue else {
            throw EmulatorConfigError(key: "(file)", message: "the config must be a JSON object")
        }
        let reader = ConfigReader(object: root, path: "")
        var config = EmulatorConfig(
            tenantId: try reader.uuid("tenantId"), adminToken: try reader.nonEmptyString("adminToken"), principals: [])
        config.accountName = try reader.optionalNonEmptyString("accountName") ?? config.accountName
        if let lifetime = try reader.optionalInt("tokenLifetimeSeconds") {
            guard (1...86_400).contains(lifetime) else {
                throw reader.error("tokenLifetimeSeconds", "must be between 1 and 86400")
            }
            config.tokenLifetimeSeconds = lifetime
        }
        config.tokenSigningKey = try reader.optionalNonEmptyString("tokenSigningKey")
        if let limit = try reader.optionalInt("maxRequestBodyBytes") {
            guard limit >= 1024 else { throw reader.error("maxRequestBodyBytes", "must be at least 1024") }
            config.maxRequestBodyBytes = limit
        }
        let principals = try reader.array("principals")
        guard !principals.isEmpty else { throw reader.error("principals", "must hold at least one principal") }
        for (index, item) in principals.enumerated() {
            let principal = try reader.child("principals", index, item)
            config.principals.append(try parsePrincipal(principal))
        }
        for (index, item) in try reader.optionalArray("workflows").enumerated() {
            _ = try reader.child("workflows", index, item)
            config.workflows.append(item)
        }
        for (index, item) in try reader.optionalArray("faults").enumerated() {
            config.faults.append(try EmulatorFault.parse(item, key: "faults[\(index)]"))
        }
        try config.check()
        return config
    }

    private static func parsePrincipal(_ reader: ConfigReader) throws(EmulatorConfigError) -> Principal {
        var principal = Principal(
            clientId: try reader.uuid("clientId"), objectId: try reader.uuid("objectId"),
            name: try reader.nonEmptyString("name"))
        principal.clientSecret = try reader.optionalNonEmptyString("clientSecret")
        principal.email = try reader.optionalNonEmptyString("email")
        principal.certificatePem = try reader.optionalNonEmptyString("certificatePem")
        principal.isAdministrator = try reader.optionalBool("isAdministrator") ?? false
        return principal
    }

    /// Checks what `parse` cannot see key by key: uniqueness, credentials, certificates and that every
    /// workflow is one the service would accept. Also run for configs built in code.
    func check() throws(EmulatorConfigError) {
        guard isUUID(tenantId) else { throw EmulatorConfigError(key: "tenantId", message: "must be a UUID") }
        guard !adminToken.isEmpty else { throw EmulatorConfigError(key: "adminToken", message: "must not be empty") }
        var clientIds: Set<String> = []
        var objectIds: Set<String> = []
        for (index, principal) in principals.enumerated() {
            let key = "principals[\(index)]"
            guard clientIds.insert(principal.clientId).inserted else {
                throw EmulatorConfigError(key: key + ".clientId", message: "is used by another principal")
            }
            guard objectIds.insert(principal.objectId).inserted else {
                throw EmulatorConfigError(key: key + ".objectId", message: "is used by another principal")
            }
            guard principal.clientSecret != nil || principal.certificatePem != nil else {
                throw EmulatorConfigError(key: key, message: "needs a clientSecret or a certificatePem")
            }
            if let pem = principal.certificatePem {
                do {
                    _ = try X509Certificate(pem: pem).publicKey()
                } catch {
                    throw EmulatorConfigError(
                        key: key + ".certificatePem", message: "is not a PEM certificate with an RSA public key")
                }
            }
        }
        var engine = EmulatorEngine(configuration: engineConfiguration)
        var workflowIds: Set<String> = []
        for (index, workflow) in workflows.enumerated() {
            let key = "workflows[\(index)]"
            guard let id = workflow["id"]?.stringValue, isUUID(id) else {
                throw EmulatorConfigError(key: key + ".id", message: "must be a UUID")
            }
            guard workflowIds.insert(id.lowercased()).inserted else {
                throw EmulatorConfigError(key: key + ".id", message: "is used by another workflow")
            }
            do {
                _ = try engine.createOrReplaceWorkflow(id: id, body: workflow, caller: workflowAuthor)
            } catch {
                throw EmulatorConfigError(key: key, message: error.message)
            }
        }
    }

    /// The engine's view: the account and the principal directory.
    var engineConfiguration: EmulatorConfiguration {
        EmulatorConfiguration(
            accountName: accountName,
            principals: principals.map {
                EmulatorPrincipal(
                    objectId: $0.objectId, email: $0.email, displayName: $0.name, isAdministrator: $0.isAdministrator)
            },
            // The configured principals are the tenant's directory, as Entra ID is for the service.
            requireKnownPrincipals: true)
    }

    /// Who created the configured workflows: the first administrator, else the first principal.
    var workflowAuthor: String {
        (principals.first(where: \.isAdministrator) ?? principals.first)?.objectId
            ?? "00000000-0000-0000-0000-000000000000"
    }

    func principal(clientId: String) -> Principal? {
        let wanted = clientId.lowercased()
        return principals.first { $0.clientId == wanted }
    }
}

/// A config problem, naming the key: `principals[0].clientId: must be a UUID`.
public struct EmulatorConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public let key: String
    public let message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "emulator config: \(key): \(message)" }
}

/// Reads typed values from one object of the config, naming keys with their path.
struct ConfigReader {
    let object: JSONObject
    let path: String

    func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func error(_ key: String, _ message: String) -> EmulatorConfigError {
        EmulatorConfigError(key: name(key), message: message)
    }

    /// The value, with JSON null read as absent.
    func value(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func nonEmptyString(_ key: String) throws(EmulatorConfigError) -> String {
        guard value(key) != nil else { throw error(key, "is required") }
        return try optionalNonEmptyString(key)!
    }

    func optionalNonEmptyString(_ key: String) throws(EmulatorConfigError) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue, !text.isEmpty else { throw error(key, "must be a non-empty string") }
        return text
    }

    func uuid(_ key: String) throws(EmulatorConfigError) -> String {
        let text = try nonEmptyString(key)
        guard isUUID(text) else { throw error(key, "must be a UUID") }
        return text.lowercased()
    }

    func optionalInt(_ key: String) throws(EmulatorConfigError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.doubleValue, number == number.rounded(), abs(number) < 1e15 else {
            throw error(key, "must be an integer")
        }
        return Int(number)
    }

    func optionalNumber(_ key: String) throws(EmulatorConfigError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.doubleValue, number.isFinite else { throw error(key, "must be a number") }
        return number
    }

    func optionalBool(_ key: String) throws(EmulatorConfigError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.boolValue else { throw error(key, "must be true or false") }
        return flag
    }

    func array(_ key: String) throws(EmulatorConfigError) -> [JSONValue] {
        guard value(key) != nil else { throw error(key, "is required") }
        return try optionalArray(key)
    }

    func optionalArray(_ key: String) throws(EmulatorConfigError) -> [JSONValue] {
        guard let value = value(key) else { return [] }
        guard let items = value.arrayValue else { throw error(key, "must be an array") }
        return items
    }

    /// The reader of `key[index]`, which must be an object.
    func child(_ key: String, _ index: Int, _ item: JSONValue) throws(EmulatorConfigError) -> ConfigReader {
        let childPath = name(key) + "[\(index)]"
        guard let object = item.objectValue else {
            throw EmulatorConfigError(key: childPath, message: "must be an object")
        }
        return ConfigReader(object: object, path: childPath)
    }
}
