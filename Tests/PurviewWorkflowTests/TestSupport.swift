import Foundation
import PurviewWorkflow

/// A small deterministic generator (SplitMix64) so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random JSON values covering escapes, astral characters, awkward numbers and nesting.
struct RandomJSON {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    private static let scalarPool: [Unicode.Scalar] = [
        "a", "Z", "0", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}",
        "\u{7F}", "é", "ß", "中", "\u{2028}", "\u{E000}", "\u{FFFD}", "\u{FFFF}", "😀", "𝄞", "\u{10FFFF}", "~", "{",
    ]

    mutating func string(maxLength: Int = 12) -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...maxLength, using: &generator) {
            if Bool.random(using: &generator) {
                text.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &generator)))
            } else {
                text.append(RandomJSON.scalarPool.randomElement(using: &generator)!)
            }
        }
        return String(text)
    }

    mutating func number() -> Double {
        switch Int.random(in: 0..<7, using: &generator) {
        case 0: return Double(Int.random(in: -1000...1000, using: &generator))
        case 1: return Double(Int64.random(in: -(1 << 53)...(1 << 53), using: &generator))
        case 2: return Double(Int.random(in: -99999...99999, using: &generator)) / 100
        case 3:
            // Any finite bit pattern.
            while true {
                let value = Double(bitPattern: generator.next())
                if value.isFinite { return value }
            }
        case 4:
            return [0.0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e21, 1e-7, 0.1, 1e300].randomElement(
                using: &generator)!
        case 5: return Double.random(in: -1...1, using: &generator)
        default: return Double.random(in: -1e25...1e25, using: &generator)
        }
    }

    mutating func value(depth: Int = 0) -> JSONValue {
        let leafOnly = depth >= 5
        switch Int.random(in: 0..<(leafOnly ? 4 : 6), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(number())
        case 3: return .string(string())
        case 4:
            return .array((0..<Int.random(in: 0...5, using: &generator)).map { _ in value(depth: depth + 1) })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                object[string(maxLength: 6)] = value(depth: depth + 1)
            }
            return .object(object)
        }
    }
}

/// Reverses key order at every level: equal as a value, different as text.
func reversingKeys(_ value: JSONValue) -> JSONValue {
    switch value {
    case .array(let elements): return .array(elements.map(reversingKeys))
    case .object(let object):
        return .object(JSONObject(object.keys.reversed().map { ($0, reversingKeys(object[$0]!)) }))
    default: return value
    }
}

/// Rewrites every string that is an RFC 3339 timestamp into the formatter's form, so that documents can be
/// compared after a decode/encode round trip.
func normalizingTimestamps(_ value: JSONValue) -> JSONValue {
    switch value {
    case .string(let text):
        if let timestamp = PurviewTimestamp(text) { return .string(timestamp.formatted()) }
        return value
    case .array(let elements): return .array(elements.map(normalizingTimestamps))
    case .object(let object):
        return .object(JSONObject(object.keys.map { ($0, normalizingTimestamps(object[$0]!)) }))
    default: return value
    }
}

/// Finds the shared Purview data (`shared/purview`) beside the package checkout: `<root>/../shared` for
/// a clone such as /some/dir/main, or one level further up for a worktree such as /work/wt/<name>.
func purviewDataDirectory(filePath: String = #filePath) -> URL? {
    let packageRoot = URL(fileURLWithPath: filePath)
        .deletingLastPathComponent()  // PurviewWorkflowTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()
    var ancestor = packageRoot.deletingLastPathComponent()
    for _ in 0..<2 {
        let candidate = ancestor.appendingPathComponent("shared").appendingPathComponent("purview")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return candidate
        }
        ancestor = ancestor.deletingLastPathComponent()
    }
    return nil
}
