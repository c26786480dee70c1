import Crypto
import FoundationEssentials
import PurviewWorkflow

/// What an API key may do.
public enum Scope: String, Sendable, Hashable, CaseIterable {
    case requestsWrite = "requests:write"
    case requestsRead = "requests:read"
    /// Read every client's requests; includes `requests:read`.
    case requestsReadAll = "requests:read:all"
    case requestsCancel = "requests:cancel"
    case importsWrite = "imports:write"
    /// Operator actions (re-drive, redeliver, the console's operator panel).
    case requestsAdmin = "requests:admin"
}

/// One caller of the API, from the keys file.
public struct APIClient: Sendable, Hashable {
    public var name: String
    /// SHA-256 digests of the client's valid keys (several during a rotation).
    public var keyDigests: [[UInt8]]
    public var scopes: Set<Scope>
    /// Webhook settings (`"callbacks"`); nil: this client gets no webhooks and may not give `callbackUrl`.
    public var callbacks: CallbackSettings?
    /// The client's intake quota (`"rateLimit"`); nil: the gateway's default.
    public var rateLimit: RateLimit?
    /// The quota of its imports (`"importRateLimit"`); nil: the same figures as `rateLimit`, in a bucket of its own.
    public var importRateLimit: RateLimit?

    public init(
        name: String, keyDigests: [[UInt8]], scopes: Set<Scope>, callbacks: CallbackSettings? = nil,
        rateLimit: RateLimit? = nil, importRateLimit: RateLimit? = nil
    ) {
        self.name = name
        self.keyDigests = keyDigests
        self.scopes = scopes
        self.callbacks = callbacks
        self.rateLimit = rateLimit
        self.importRateLimit = importRateLimit
    }

    public func allows(_ scope: Scope) -> Bool {
        if scopes.contains(scope) { return true }
        return scope == .requestsRead && scopes.contains(.requestsReadAll)
    }
}

/// The API clients and their keys (`GATEWAY_API_KEYS_FILE`):
/// `{"clients":[{"name":"portal","keySha256":"<hex>"|["<hex>",...],"scopes":["requests:write",...]}]}`.
public struct APIClients: Sendable {
    public private(set) var clients: [APIClient]

    public init(clients: [APIClient]) { self.clients = clients }

    public enum LoadError: Error, Sendable, CustomStringConvertible {
        case unreadable(String)
        case invalid(String)

        public var description: String {
            switch self {
            case .unreadable(let message), .invalid(let message): message
            }
        }
    }

    public static func load(path: String) throws(LoadError) -> APIClients {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable("cannot read the API keys file \(path)")
        }
        return try parse(Array(data), source: path)
    }

    public static func parse(_ bytes: [UInt8], source: String) throws(LoadError) -> APIClients {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: bytes)
        } catch {
            throw .invalid("\(source): not valid JSON: \(error)")
        }
        guard let entries = document["clients"]?.arrayValue else {
            throw .invalid("\(source): expected {\"clients\":[...]}")
        }
        var clients: [APIClient] = []
        var names: Set<String> = []
        for (index, entry) in entries.enumerated() {
            let at = "\(source): clients[\(index)]"
            guard let name = entry["name"]?.stringValue, !name.isEmpty, name.count <= 64 else {
                throw .invalid("\(at): \"name\" must be a non-empty string of at most 64 characters")
            }
            guard names.insert(name).inserted else { throw .invalid("\(at): the name \"\(name)\" is used twice") }
            let hexes: [String]
            switch entry["keySha256"] {
            case .string(let hex)?: hexes = [hex]
            case .array(let items)?: hexes = items.compactMap(\.stringValue)
            default: throw .invalid("\(at): \"keySha256\" must be a hex SHA-256 digest or a list of them")
            }
            let digests = hexes.compactMap { Hex.decode($0.lowercased()) }.filter { $0.count == 32 }
            guard !digests.isEmpty, digests.count == hexes.count else {
                throw .invalid("\(at): \"keySha256\" must hold 64-hex-digit SHA-256 digests")
            }
            var scopes: Set<Scope> = []
            for value in entry["scopes"]?.arrayValue ?? [] {
                guard let text = value.stringValue, let scope = Scope(rawValue: text) else {
                    throw .invalid("\(at): unknown scope \(value); known: \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                scopes.insert(scope)
            }
            var callbacks: CallbackSettings?
            if let settings = entry["callbacks"] {
                do {
                    callbacks = try CallbackSettings.parse(settings)
                } catch {
                    throw .invalid("\(at): \"callbacks\": \(error.message)")
                }
            }
            let rateLimit = try parseRateLimit(entry["rateLimit"], at: "\(at).rateLimit")
            let importRateLimit = try parseRateLimit(entry["importRateLimit"], at: "\(at).importRateLimit")
            clients.append(
                APIClient(
                    name: name, keyDigests: digests, scopes: scopes, callbacks: callbacks, rateLimit: rateLimit,
                    importRateLimit: importRateLimit))
        }
        return APIClients(clients: clients)
    }

    /// `{"perSecond": 50, "burst": 100}`: a positive rate, a whole burst of at least 1.
    static func parseRateLimit(_ value: JSONValue?, at: String) throws(LoadError) -> RateLimit? {
        guard let value, value != .null else { return nil }
        guard case .object(let object) = value else { throw .invalid("\(at): expected {\"perSecond\":50,\"burst\":100}") }
        for key in object.keys where key != "perSecond" && key != "burst" {
            throw .invalid("\(at): unknown field \"\(key)\"; expected perSecond and burst")
        }
        guard let perSecond = object["perSecond"]?.doubleValue, perSecond > 0, perSecond <= 1_000_000 else {
            throw .invalid("\(at).perSecond: must be a number above 0")
        }
        guard let burstValue = object["burst"]?.doubleValue, burstValue >= 1, burstValue <= 1_000_000,
            burstValue == burstValue.rounded()
        else {
            throw .invalid("\(at).burst: must be a whole number of at least 1")
        }
        return RateLimit(perSecond: perSecond, burst: Int(burstValue))
    }

    /// The client owning `key`, comparing digests in constant time (and checking every client, so the
    /// time taken does not reveal which one matched).
    public func authenticate(key: String) -> APIClient? {
        guard !key.isEmpty, key.utf8.count <= 512 else { return nil }
        let digest = SHA256.hash(Array(key.utf8))
        var found: APIClient?
        for client in clients {
            for candidate in client.keyDigests where constantTimeEquals(candidate, digest) {
                found = client
            }
        }
        return found
    }
}
