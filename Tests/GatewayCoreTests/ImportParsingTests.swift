import GatewayCore
import Testing

/// The record splitter gives the same records however the bytes are cut into chunks.
@Suite struct ImportParsingTests {
    static func records(_ format: ImportFormat, _ chunks: [[UInt8]]) throws -> [[String]] {
        var splitter = ImportRecordSplitter(format: format)
        var records: [[String]] = []
        for chunk in chunks {
            try splitter.feed(chunk) {
                records.append(format == .csv ? $0.fields : [String(decoding: $0.raw, as: UTF8.self)])
            }
        }
        try splitter.finish { records.append(format == .csv ? $0.fields : [String(decoding: $0.raw, as: UTF8.self)]) }
        return records
    }

    @Test func csvAcrossEveryChunkBoundary() throws {
        let text =
            "\u{FEFF}a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n\r\nplain,\"\",end\"q\r\n\"last\",x,\"\""
        let bytes = Array(text.utf8)
        let expected: [[String]] = [
            ["a", "b", "c"], ["x,1", "say \"hi\"", "two\r\nlines"], ["plain", "", "end\"q"], ["last", "x", ""],
        ]
        #expect(try Self.records(.csv, [bytes]) == expected)
        #expect(try Self.records(.csv, bytes.map { [$0] }) == expected)
        for cut in 1..<bytes.count {
            #expect(try Self.records(.csv, [Array(bytes[..<cut]), Array(bytes[cut...])]) == expected, "cut at \(cut)")
        }
        // Two bytes that only start a byte-order mark are data.
        #expect(try Self.records(.csv, [[0xEF], [0xBB]]) == [[String(decoding: [0xEF, 0xBB], as: UTF8.self)]])
    }

    @Test func ndjsonLinesAndLimits() throws {
        let bytes = Array("{\"a\":1}\r\n\n  \n{\"b\":2}".utf8)
        #expect(try Self.records(.ndjson, bytes.map { [$0] }) == [["{\"a\":1}"], ["{\"b\":2}"]])
        var splitter = ImportRecordSplitter(format: .csv, maxRecordBytes: 16)
        #expect(throws: ImportFileError.self) { try splitter.feed(Array("\"never closed and long".utf8)) { _ in } }
        var open = ImportRecordSplitter(format: .csv)
        try open.feed(Array("a,\"b".utf8)) { _ in }
        #expect(throws: ImportFileError.self) { try open.finish { _ in } }
    }
}
