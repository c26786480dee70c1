import Foundation
import Testing

@testable import Observability

@Suite struct LoggingTests {
    @Test(arguments: [
        ("trace", LogLevel.trace), ("DEBUG", .debug), (" info\n", .info), ("Notice", .notice), ("warn", .warning),
        ("warning", .warning), ("err", .error), ("error", .error), ("crit", .critical), ("critical", .critical),
        ("fatal", .critical),
    ])
    func parsesLogLevelNames(text: String, level: LogLevel) {
        #expect(LogLevel(parsing: text) == level)
    }

    @Test func rejectsUnknownLevelsAndOrdersKnownOnes() {
        #expect(LogLevel(parsing: "verbose") == nil)
        #expect(LogLevel(parsing: "") == nil)
        #expect(LogLevel.allCases.sorted() == LogLevel.allCases)
        #expect(LogLevel.allCases.map(\.name) == ["trace", "debug", "info", "notice", "warning", "error", "critical"])
    }

    @Test func filtersByLevelWithoutEvaluatingDroppedMessages() {
        let sink = InMemoryLogSink()
        let logger = Logger(label: "test", level: .info, sink: sink)
        let evaluated = SharedCounter()
        func expensive() -> String {
            evaluated.add()
            return "expensive"
        }
        logger.debug(expensive())
        logger.trace(expensive(), metadata: ["k": "\(expensive())"])
        #expect(evaluated.value == 0)
        logger.info(expensive())
        logger.critical("boom")
        #expect(evaluated.value == 1)
        #expect(sink.records.map(\.level) == [.info, .critical])
        #expect(!logger.isEnabled(.debug) && logger.isEnabled(.notice))
        sink.clear()
        #expect(sink.records.isEmpty)
    }

    @Test func metadataMergesWithCallMetadataWinning() throws {
        let sink = InMemoryLogSink()
        let base = Logger(label: "gateway.http", metadata: ["kind": "access"], sink: sink)
        let request = base.with("request.id", "r-123").with(["client": "portal", "kind": "audit"])
        request.info("handled", metadata: ["status": 201, "client": "override"])
        base.info("unrelated")
        let records = sink.records
        #expect(records[0].metadata == ["kind": "audit", "request.id": "r-123", "client": "override", "status": 201])
        #expect(records[0].label == "gateway.http" && records[0].message == "handled")
        #expect(records[1].metadata == ["kind": "access"])
    }

    @Test func jsonLineHasTheDocumentedShape() {
        let record = LogRecord(
            timestamp: LogTimestamp(secondsSinceEpoch: 1_796_306_400, nanoseconds: 123_456_789), level: .info,
            label: "emulator", message: "run started",
            metadata: ["run.id": "abc", "attempt": 2, "ok": true, "ratio": 0.5, "none": nil])
        let line = String(decoding: record.jsonLine(), as: UTF8.self)
        #expect(
            line
                == #"{"ts":"2026-12-03T14:00:00.123Z","level":"info","msg":"run started","logger":"emulator","#
                + #""attempt":2,"none":null,"ok":true,"ratio":0.5,"run.id":"abc"}"# + "\n")
    }

    @Test func jsonLineEscapesEverythingAndParsesBack() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t cr \r bell \u{07} nul \u{0} del \u{7f} unicode ☕ 𝄞"
        let record = LogRecord(
            timestamp: .now(), level: .error, label: "a\"b", message: nasty,
            metadata: [
                "nested": ["list": [1, 2.5, "x", nil, false], "object": ["k\n": "v\""]],
                "nan": .double(.nan), "inf": .double(.infinity), "tiny": 1e-300, "big": .int(Int.min),
                "msg": "collides", "ts": "collides too",
            ])
        let bytes = record.jsonLine()
        #expect(bytes.last == UInt8(ascii: "\n"))
        #expect(bytes.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["msg"] as? String == nasty)
        #expect(object["logger"] as? String == "a\"b")
        #expect(object["level"] as? String == "error")
        #expect(object["metadata.msg"] as? String == "collides")
        #expect(object["metadata.ts"] as? String == "collides too")
        #expect(object["nan"] is NSNull && object["inf"] is NSNull)
        #expect((object["tiny"] as? NSNumber)?.doubleValue == 1e-300)
        #expect((object["big"] as? NSNumber)?.int64Value == Int64(Int.min))
        let nested = try #require(object["nested"] as? [String: Any])
        #expect((nested["object"] as? [String: String])?["k\n"] == "v\"")
        #expect((nested["list"] as? [Any])?.count == 5)
    }

    @Test func timestampsMatchFoundationsISO8601() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        let fixed: [Int64] = [0, 951_782_400, 1_709_164_800, 4_102_444_799, 253_402_300_799, -1, -86_400 * 365]
        let random = (0..<500).map { _ in Int64.random(in: 0...4_102_444_800, using: &generator) }
        for seconds in fixed + random {
            let milliseconds = Int32.random(in: 0..<1000, using: &generator)
            let stamp = LogTimestamp(secondsSinceEpoch: seconds, nanoseconds: milliseconds * 1_000_000 + 999)
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds) / 1000)
            #expect(stamp.iso8601 == formatter.string(from: date), "seconds \(seconds)")
        }
        #expect(LogTimestamp(secondsSinceEpoch: 951_782_400).iso8601 == "2000-02-29T00:00:00.000Z")
        let now = LogTimestamp.now()
        #expect(abs(Double(now.secondsSinceEpoch) - Date().timeIntervalSince1970) < 5)
    }

    @Test func jsonLinesSinkWritesWholeLinesFromConcurrentWriters() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("log.jsonl")
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let sink = JSONLinesLogSink(fileDescriptor: descriptor)
        let logger = Logger(label: "concurrency", sink: sink)
        let padding = String(repeating: "x", count: 2000)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<200 {
                        logger.with("writer", .int(writer)).info(
                            "line \(index) \(padding)", metadata: ["index": .int(index)])
                    }
                }
            }
        }
        sink.flush()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")
        #expect(lines.count == 8 * 200 + 1)
        var seen = Set<String>()
        for line in lines.dropLast() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let writer = try #require(object["writer"] as? Int)
            let index = try #require(object["index"] as? Int)
            #expect(object["msg"] as? String == "line \(index) \(padding)")
            seen.insert("\(writer)/\(index)")
        }
        #expect(seen.count == 1600)
    }

    /// A log reader that stalls (a full pipe) must not stall the thread that logs, an event loop among them:
    /// lines beyond the buffer are dropped and counted, and the count is written once the pipe drains.
    @Test func aStalledOutputNeverBlocksTheLogger() async throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let sink = JSONLinesLogSink(fileDescriptor: ends[1], bufferLimit: 256 << 10)
        let logger = Logger(label: "stalled", sink: sink)
        let padding = String(repeating: "y", count: 1000)
        // Nobody reads: the pipe (64 KiB) fills, the writer blocks, the buffer (256 KiB) fills, lines are dropped.
        let started = ContinuousClock.now
        for index in 0..<5_000 { logger.info("line \(index) \(padding)") }
        #expect(started.duration(to: .now) < .seconds(5))
        // Now read everything: the buffered lines arrive whole, then the drop count.
        let readEnd = ends[0]
        let reader = Task.detached { () -> [UInt8] in
            var collected: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(readEnd, &chunk, chunk.count)
                if count <= 0 { return collected }
                collected += chunk[..<count]
            }
        }
        sink.flush()
        close(ends[1])
        let text = String(decoding: await reader.value, as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count > 60 && lines.count < 5_000)
        let last = try #require(try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        #expect(last["msg"] as? String == "log lines dropped")
        let dropped = try #require(last["count"] as? Int)
        #expect(dropped + lines.count - 1 == 5_000)
        for line in lines.dropLast() { #expect(line.hasPrefix("{") && line.hasSuffix("}")) }
    }

    @Test func multiplexAndDiscardingSinks() {
        let first = InMemoryLogSink()
        let second = InMemoryLogSink()
        let logger = Logger(label: "fan-out", sink: MultiplexLogSink([first, DiscardingLogSink(), second]))
        logger.warning("to both")
        #expect(first.records.map(\.message) == ["to both"])
        #expect(second.records == first.records)
        Logger.disabled().error("dropped")
        #expect(LogValue.object(["b": 1, "a": [true, nil]]).description == #"{"a":[true,null],"b":1}"#)
    }
}
