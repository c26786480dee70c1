import Testing

@testable import Observability

/// A sample parsed back from Prometheus text.
struct ParsedSample: Hashable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// A strict parser for the subset of the text format the registry writes; fails the test on anything else.
struct ExpositionParser {
    var help: [String: String] = [:]
    var types: [String: String] = [:]
    var samples: [ParsedSample] = []

    init(_ text: String) throws {
        #expect(text.isEmpty || text.hasSuffix("\n"))
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let space = try #require(rest.firstIndex(of: " "))
                help[String(rest[..<space])] = Self.unescape(rest[rest.index(after: space)...], quotes: false)
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                try #require(parts.count == 2)
                types[String(parts[0])] = String(parts[1])
            } else {
                samples.append(try Self.sample(line))
            }
        }
    }

    static func sample(_ line: Substring) throws -> ParsedSample {
        var labels: [String: String] = [:]
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
        let name = String(line[..<nameEnd])
        var cursor = nameEnd
        if cursor < line.endIndex, line[cursor] == "{" {
            cursor = line.index(after: cursor)
            while line[cursor] != "}" {
                let equals = try #require(line[cursor...].firstIndex(of: "="))
                let labelName = String(line[cursor..<equals])
                var index = line.index(after: equals)
                try #require(line[index] == "\"")
                index = line.index(after: index)
                var raw = ""
                while line[index] != "\"" {
                    if line[index] == "\\" {
                        raw.append(line[index])
                        index = line.index(after: index)
                    }
                    raw.append(line[index])
                    index = line.index(after: index)
                }
                labels[labelName] = unescape(Substring(raw), quotes: true)
                cursor = line.index(after: index)
                if line[cursor] == "," { cursor = line.index(after: cursor) }
            }
            cursor = line.index(after: cursor)
        }
        try #require(line[cursor] == " ")
        let valueText = line[line.index(after: cursor)...]
        let value: Double
        switch valueText {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default: value = try #require(Double(valueText))
        }
        return ParsedSample(name: name, labels: labels, value: value)
    }

    static func unescape(_ text: Substring, quotes: Bool) -> String {
        var output = ""
        var escaping = false
        for character in text {
            if escaping {
                switch character {
                case "n": output.append("\n")
                case "\\": output.append("\\")
                case "\"" where quotes: output.append("\"")
                default:
                    output.append("\\")
                    output.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                output.append(character)
            }
        }
        return output
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}

@Suite struct MetricsTests {
    @Test func countersAndGaugesRenderAndParseBack() throws {
        let registry = MetricsRegistry()
        let created = registry.counter(
            "requests_total", help: "Requests handled.", labels: ["route": "/v1/requests", "status": "201"])
        created.increment()
        created.increment(by: 4)
        registry.counter("requests_total", help: "ignored", labels: ["status": "201", "route": "/v1/requests"])
            .increment()
        registry.counter("requests_total", help: "", labels: ["route": "/v1/requests", "status": "409"]).increment()
        let inFlight = registry.gauge("in_flight", help: "Requests in flight.")
        inFlight.increment()
        inFlight.increment(by: 2.5)
        inFlight.decrement()
        let temperature = registry.gauge("temperature_celsius", help: "Line one\nline two \\ backslash")
        temperature.set(-3)

        let parsed = try ExpositionParser(registry.render())
        #expect(parsed.types == ["requests_total": "counter", "in_flight": "gauge", "temperature_celsius": "gauge"])
        #expect(parsed.help["requests_total"] == "Requests handled.")
        #expect(parsed.help["temperature_celsius"] == "Line one\nline two \\ backslash")
        #expect(parsed.value("requests_total", ["route": "/v1/requests", "status": "201"]) == 6)
        #expect(parsed.value("requests_total", ["route": "/v1/requests", "status": "409"]) == 1)
        #expect(parsed.value("in_flight") == 2.5)
        #expect(parsed.value("temperature_celsius") == -3)
        #expect(created.value == 6 && inFlight.value == 2.5)
    }

    @Test func histogramBucketsAreCumulative() throws {
        let registry = MetricsRegistry()
        let latency = registry.histogram("upstream_seconds", help: "Upstream latency.", labels: ["op": "submit"])
        #expect(latency.upperBounds == Histogram.defaultLatencyBuckets)
        #expect(latency.upperBounds.first == 0.001 && latency.upperBounds.last == 30)
        for value in [0.0005, 0.001, 0.003, 0.2, 0.2, 7, 100] { latency.observe(value) }
        latency.observe(.milliseconds(40))
        latency.observe(.nan)

        let parsed = try ExpositionParser(registry.render())
        #expect(parsed.types["upstream_seconds"] == "histogram")
        func bucket(_ le: String) -> Double? { parsed.value("upstream_seconds_bucket", ["op": "submit", "le": le]) }
        #expect(bucket("0.001") == 2)  // le is inclusive
        #expect(bucket("0.0025") == 2)
        #expect(bucket("0.005") == 3)
        #expect(bucket("0.05") == 4)
        #expect(bucket("0.25") == 6)
        #expect(bucket("10.0") == 7)
        #expect(bucket("30.0") == 7)
        #expect(bucket("+Inf") == 8)
        #expect(parsed.value("upstream_seconds_count", ["op": "submit"]) == 8)
        let sum = try #require(parsed.value("upstream_seconds_sum", ["op": "submit"]))
        #expect(abs(sum - 107.4445) < 1e-9)
        // Every bucket line is present, and counts never decrease.
        let buckets = parsed.samples.filter { $0.name == "upstream_seconds_bucket" }.map(\.value)
        #expect(buckets.count == Histogram.defaultLatencyBuckets.count + 1)
        #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func customBucketsAndEmptyHistogram() throws {
        let registry = MetricsRegistry()
        let sizes = registry.histogram("body_bytes", help: "Body sizes.", buckets: [100, 1000])
        let parsedEmpty = try ExpositionParser(registry.render())
        #expect(parsedEmpty.value("body_bytes_bucket", ["le": "+Inf"]) == 0)
        #expect(parsedEmpty.value("body_bytes_count") == 0)
        sizes.observe(100)
        sizes.observe(5000)
        let parsed = try ExpositionParser(registry.render())
        #expect(parsed.value("body_bytes_bucket", ["le": "100.0"]) == 1)
        #expect(parsed.value("body_bytes_bucket", ["le": "1000.0"]) == 1)
        #expect(parsed.value("body_bytes_bucket", ["le": "+Inf"]) == 2)
        #expect(parsed.value("body_bytes_sum") == 5100)
    }

    @Test func labelValuesAreEscaped() throws {
        let registry = MetricsRegistry()
        let nasty = "quote \" backslash \\ newline \n unicode ☕"
        registry.counter("errors_total", help: "Errors.", labels: ["reason": nasty]).increment(by: 3)
        let text = registry.render()
        #expect(text.contains(#"reason="quote \" backslash \\ newline \n unicode ☕""#))
        #expect(text.split(separator: "\n").count == 3)
        #expect(try ExpositionParser(text).value("errors_total", ["reason": nasty]) == 3)
    }

    @Test func renderingIsStableAndSorted() throws {
        let registry = MetricsRegistry()
        for name in ["zeta_total", "alpha_total", "mid_total"] {
            for status in ["500", "200", "404"] {
                registry.counter(name, help: name, labels: ["status": status]).increment()
            }
        }
        let first = registry.render()
        #expect(first == registry.render())
        let parsed = try ExpositionParser(first)
        #expect(
            parsed.samples.map(\.name) == Array(repeating: "alpha_total", count: 3)
                + Array(repeating: "mid_total", count: 3) + Array(repeating: "zeta_total", count: 3))
        #expect(parsed.samples.prefix(3).map { $0.labels["status"] } == ["200", "404", "500"])
        #expect(MetricsRegistry().render() == "")
    }

    @Test func concurrentUpdatesAreExact() async {
        let registry = MetricsRegistry()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let counter = registry.counter("hits_total", help: "Hits.")
                    let gauge = registry.gauge("level", help: "Level.")
                    let histogram = registry.histogram(
                        "work_seconds", help: "Work.", labels: ["task": task % 2 == 0 ? "even" : "odd"])
                    for _ in 0..<10_000 {
                        counter.increment()
                        gauge.increment(by: 0.5)
                        histogram.observe(0.01)
                    }
                }
            }
        }
        #expect(registry.counter("hits_total", help: "").value == 80_000)
        #expect(registry.gauge("level", help: "").value == 40_000)
        let even = registry.histogram("work_seconds", help: "", labels: ["task": "even"]).snapshot()
        #expect(even.count == 40_000 && even.cumulativeCounts.last == 40_000)
    }

    @Test func nameValidation() {
        #expect(MetricsRegistry.isValidMetricName("http_requests_total"))
        #expect(MetricsRegistry.isValidMetricName("ns:sub_metric"))
        #expect(!MetricsRegistry.isValidMetricName("1abc"))
        #expect(!MetricsRegistry.isValidMetricName("with-dash"))
        #expect(!MetricsRegistry.isValidMetricName(""))
        #expect(MetricsRegistry.isValidLabelName("status_code"))
        #expect(!MetricsRegistry.isValidLabelName("__reserved"))
        #expect(!MetricsRegistry.isValidLabelName("a:b"))
        #expect(MetricsRegistry.number(.infinity) == "+Inf" && MetricsRegistry.number(-.infinity) == "-Inf")
        #expect(MetricsRegistry.number(.nan) == "NaN" && MetricsRegistry.number(0.25) == "0.25")
    }
}
