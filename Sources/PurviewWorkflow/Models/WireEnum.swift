/// A string enumeration from the wire that keeps values it does not know.
///
/// Conforming types are structs with static members for the known values. Decoding never fails on an
/// unknown string; it is kept as is (`isKnown` is false). Known values are matched leniently — ignoring
/// case, spaces, `_` and `-` — and normalised to the service's spelling, so the seed's `Cancelled` and the
/// 2022 draft's `In Progress` decode as `.canceled` and `.inProgress`. Encoding writes `rawValue`.
public protocol WireEnum: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
where RawValue == String {
    /// Creates a value, normalising known spellings; never fails.
    init(rawValue: String)
    /// Every value the service is known to send, in its spelling.
    static var knownValues: [Self] { get }
}

extension WireEnum {
    public init(stringLiteral value: String) { self.init(rawValue: value) }

    public var description: String { rawValue }

    /// Whether this is one of `knownValues`.
    public var isKnown: Bool { Self.knownValues.contains(self) }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The lenient lookup behind `WireEnum.init(rawValue:)`.
struct WireSpellings: Sendable {
    let known: [String]
    private let exact: Set<String>
    private let folded: [String: String]

    init(_ known: [String], aliases: [String: String] = [:]) {
        self.known = known
        exact = Set(known)
        var folded: [String: String] = [:]
        for value in known { folded[WireSpellings.fold(value)] = value }
        for (alias, value) in aliases { folded[WireSpellings.fold(alias)] = value }
        self.folded = folded
    }

    func canonical(_ raw: String) -> String {
        if exact.contains(raw) { return raw }
        return folded[WireSpellings.fold(raw)] ?? raw
    }

    private static func fold(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "_"), UInt8(ascii: "-"): continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): bytes.append(byte + 32)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
