import Synchronization

/// A monotonically increasing count. Cheap to increment from any thread (one atomic add).
public final class Counter: Sendable {
    private let storage = Atomic<UInt64>(0)

    init() {}

    /// Adds `amount` (default 1).
    public func increment(by amount: UInt64 = 1) {
        storage.wrappingAdd(amount, ordering: .relaxed)
    }

    /// The current count.
    public var value: UInt64 { storage.load(ordering: .relaxed) }
}

/// A value that goes up and down. Lock-free.
public final class Gauge: Sendable {
    // The Double's bit pattern, so it fits an atomic word.
    private let bits = Atomic<UInt64>(Double(0).bitPattern)

    init() {}

    /// Sets the value.
    public func set(_ value: Double) {
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    /// Sets the value from an integer.
    public func set(_ value: Int) { set(Double(value)) }

    /// Adds `amount` (default 1).
    public func increment(by amount: Double = 1) {
        var current = bits.load(ordering: .relaxed)
        while true {
            let desired = (Double(bitPattern: current) + amount).bitPattern
            let (exchanged, original) = bits.weakCompareExchange(
                expected: current, desired: desired, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Subtracts `amount` (default 1).
    public func decrement(by amount: Double = 1) { increment(by: -amount) }

    /// The current value.
    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// Counts observations into cumulative buckets, with their sum and count (for latencies and sizes).
public final class Histogram: Sendable {
    /// Latency buckets in seconds, from 1 ms to 30 s.
    public static let defaultLatencyBuckets: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    /// Bucket upper bounds (inclusive), ascending; `+Inf` is implied.
    public let upperBounds: [Double]

    private struct State {
        // Per-bucket (not cumulative) counts; the last slot is the +Inf bucket.
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    // A lock (not atomics) so that buckets, sum and count are always read as one consistent snapshot.
    private let state: Mutex<State>

    init(upperBounds: [Double]) {
        self.upperBounds = upperBounds
        self.state = Mutex(State(counts: [UInt64](repeating: 0, count: upperBounds.count + 1)))
    }

    /// Records one observation. NaN is ignored.
    public func observe(_ value: Double) {
        guard !value.isNaN else { return }
        // Binary search for the first bound >= value.
        var low = 0
        var high = upperBounds.count
        while low < high {
            let middle = (low + high) / 2
            if upperBounds[middle] < value { low = middle + 1 } else { high = middle }
        }
        state.withLock { state in
            state.counts[low] += 1
            state.sum += value
            state.count += 1
        }
    }

    /// Records a duration, in seconds.
    public func observe(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        observe(Double(seconds) + Double(attoseconds) * 1e-18)
    }

    /// A consistent reading: cumulative bucket counts (one per bound, then +Inf), the sum and the count.
    public func snapshot() -> (cumulativeCounts: [UInt64], sum: Double, count: UInt64) {
        state.withLock { state in
            var running: UInt64 = 0
            let cumulative = state.counts.map { count -> UInt64 in
                running += count
                return running
            }
            return (cumulative, state.sum, state.count)
        }
    }
}

/// Holds named metrics with label sets and renders them in the Prometheus text format (0.0.4).
///
/// Look a metric up once and keep the handle: lookups take a lock, updates on handles do not (histograms
/// take their own small lock). Registering one name with two kinds, two bucket layouts or two label-name sets
/// is a programming error and traps.
public final class MetricsRegistry: Sendable {
    private enum Kind: String, Sendable {
        case counter
        case gauge
        case histogram
    }

    private enum Handle: Sendable {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(Histogram)
    }

    private struct Label: Hashable, Comparable, Sendable {
        let name: String
        let value: String

        static func < (lhs: Label, rhs: Label) -> Bool { (lhs.name, lhs.value) < (rhs.name, rhs.value) }
    }

    private struct Family: Sendable {
        let kind: Kind
        let help: String
        let labelNames: [String]
        let buckets: [Double]
        var children: [[Label]: Handle] = [:]
    }

    private let families = Mutex<[String: Family]>([:])

    /// Creates an empty registry.
    public init() {}

    /// Returns the counter `name` with `labels`, creating it on first use.
    public func counter(_ name: String, help: String, labels: [String: String] = [:]) -> Counter {
        guard case .counter(let counter) = handle(name, help: help, kind: .counter, labels: labels, buckets: []) else {
            preconditionFailure("metric \(name) is not a counter")
        }
        return counter
    }

    /// Returns the gauge `name` with `labels`, creating it on first use.
    public func gauge(_ name: String, help: String, labels: [String: String] = [:]) -> Gauge {
        guard case .gauge(let gauge) = handle(name, help: help, kind: .gauge, labels: labels, buckets: []) else {
            preconditionFailure("metric \(name) is not a gauge")
        }
        return gauge
    }

    /// Returns the histogram `name` with `labels` and bucket upper bounds `buckets`, creating it on first use.
    public func histogram(
        _ name: String, help: String, labels: [String: String] = [:],
        buckets: [Double] = Histogram.defaultLatencyBuckets
    ) -> Histogram {
        precondition(buckets.allSatisfy(\.isFinite), "histogram \(name): buckets must be finite")
        precondition(zip(buckets, buckets.dropFirst()).allSatisfy { $0 < $1 }, "histogram \(name): buckets must ascend")
        precondition(labels["le"] == nil, "histogram \(name): the label name le is reserved")
        guard
            case .histogram(let histogram) = handle(
                name, help: help, kind: .histogram, labels: labels, buckets: buckets)
        else { preconditionFailure("metric \(name) is not a histogram") }
        return histogram
    }

    private func handle(
        _ name: String, help: String, kind: Kind, labels: [String: String], buckets: [Double]
    ) -> Handle {
        precondition(Self.isValidMetricName(name), "invalid metric name \(name)")
        for labelName in labels.keys {
            precondition(Self.isValidLabelName(labelName), "metric \(name): invalid label name \(labelName)")
        }
        let key = labels.map { Label(name: $0.key, value: $0.value) }.sorted()
        return families.withLock { families in
            var family =
                families[name]
                ?? Family(
                    kind: kind, help: help, labelNames: key.map(\.name), buckets: buckets)
            precondition(family.kind == kind, "metric \(name) is already a \(family.kind.rawValue)")
            precondition(family.buckets == buckets, "histogram \(name) is already registered with other buckets")
            precondition(family.labelNames == key.map(\.name), "metric \(name) is already registered with other labels")
            if let existing = family.children[key] { return existing }
            let created: Handle
            switch kind {
            case .counter: created = .counter(Counter())
            case .gauge: created = .gauge(Gauge())
            case .histogram: created = .histogram(Histogram(upperBounds: buckets))
            }
            family.children[key] = created
            families[name] = family
            return created
        }
    }

    /// Renders every metric in the Prometheus text exposition format 0.0.4, sorted by name and then labels.
    ///
    /// Serve it with `Content-Type: text/plain; version=0.0.4; charset=utf-8`.
    public func render() -> String {
        // Copy the handles under the lock; read their values after releasing it.
        let snapshot = families.withLock { families in
            families.sorted { $0.key < $1.key }
        }
        var output = ""
        for (name, family) in snapshot {
            output += "# HELP \(name) \(Self.escapeHelp(family.help))\n"
            output += "# TYPE \(name) \(family.kind.rawValue)\n"
            for (labels, handle) in family.children.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                switch handle {
                case .counter(let counter):
                    output += "\(name)\(Self.labelText(labels)) \(counter.value)\n"
                case .gauge(let gauge):
                    output += "\(name)\(Self.labelText(labels)) \(Self.number(gauge.value))\n"
                case .histogram(let histogram):
                    let reading = histogram.snapshot()
                    for (index, cumulative) in reading.cumulativeCounts.enumerated() {
                        let bound = index < family.buckets.count ? Self.number(family.buckets[index]) : "+Inf"
                        let bucketLabels = labels + [Label(name: "le", value: bound)]
                        output += "\(name)_bucket\(Self.labelText(bucketLabels)) \(cumulative)\n"
                    }
                    output += "\(name)_sum\(Self.labelText(labels)) \(Self.number(reading.sum))\n"
                    output += "\(name)_count\(Self.labelText(labels)) \(reading.count)\n"
                }
            }
        }
        return output
    }

    private static func labelText(_ labels: [Label]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
    }

    /// Escapes a label value: backslash, double quote and line feed.
    static func escapeLabelValue(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Escapes HELP text: backslash and line feed.
    static func escapeHelp(_ help: String) -> String {
        var escaped = ""
        for character in help.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Formats a sample value as Prometheus expects: Go-style floats plus `+Inf`, `-Inf`, `NaN`.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return value.description
    }

    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { isNameByte($0) || $0 == UInt8(ascii: ":") }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
            !name.hasPrefix("__")
        else { return false }
        return name.utf8.allSatisfy(isNameByte)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"):
            true
        default:
            false
        }
    }
}
