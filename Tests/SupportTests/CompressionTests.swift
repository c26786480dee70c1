import FoundationEssentials
import Testing

@testable import Compression

@Suite struct CompressionTests {
    /// `printf 'hello, purview\n'` compressed by GNU gzip 1.12 (`gzip -9 -n`), Python's zlib and raw deflate.
    static let plain = Array("hello, purview\n".utf8)
    static let gnuGzip = Data(base64Encoded: "H4sIAAAAAAACA8tIzcnJ11EoKC0qy0wt5wIAPEpWVQ8AAAA=")!
    static let pythonZlib = Data(base64Encoded: "eJzLSM3JyddRKCgtKstMLecCAC1OBX0=")!
    static let rawDeflate = Data(base64Encoded: "y0jNycnXUSgoLSrLTC3nAgA=")!

    @Test func decompressesOutputOfOtherImplementations() throws {
        #expect(try Gzip.decompress(Self.gnuGzip, maxOutputBytes: 100) == Self.plain)
        #expect(try Gzip.decompress(Self.gnuGzip, maxOutputBytes: 100, format: .gzipOrZlib) == Self.plain)
        #expect(try Gzip.decompress(Self.pythonZlib, maxOutputBytes: 100, format: .zlib) == Self.plain)
        #expect(try Gzip.decompress(Self.pythonZlib, maxOutputBytes: 100, format: .gzipOrZlib) == Self.plain)
        #expect(try Gzip.decompress(Self.rawDeflate, maxOutputBytes: 100, format: .rawDeflate) == Self.plain)
        #expect(throws: CompressionError.corrupt) { try Gzip.decompress(Self.pythonZlib, maxOutputBytes: 100) }
    }

    @Test(arguments: [0, 1, 6, 9])
    func roundTripsAtEveryLevel(level: Int) throws {
        var text: [UInt8] = []
        for index in 0..<20_000 { text.append(contentsOf: "line \(index) ∑ ünïcødé\n".utf8) }
        let compressed = Gzip.compress(text, level: level)
        #expect(Array(compressed.prefix(3)) == [0x1f, 0x8b, 0x08])  // gzip magic, deflate method
        if level > 0 { #expect(compressed.count < text.count / 3) }
        #expect(try Gzip.decompress(compressed, maxOutputBytes: text.count) == text)
        #expect(try Gzip.decompress(Gzip.compress([]), maxOutputBytes: 0) == [])
    }

    @Test func zlibAndRawFormatsRoundTrip() throws {
        let text = Array(String(repeating: "purview ", count: 1000).utf8)
        for format in [CompressionFormat.zlib, .rawDeflate] {
            let deflater = GzipDeflater(level: 6, format: format)
            let compressed = deflater.compress(text) + deflater.finish()
            #expect(try Gzip.decompress(compressed, maxOutputBytes: text.count, format: format) == text)
        }
    }

    @Test func streamingDeflaterFlushesUsableChunks() throws {
        let deflater = GzipDeflater()
        let inflater = GzipInflater(maxOutputBytes: 1 << 20)
        var received: [UInt8] = []
        var expected: [UInt8] = []
        for index in 0..<50 {
            let chunk = Array("chunk \(index) of a streamed response\n".utf8)
            expected += chunk
            var piece = deflater.compress(chunk)
            piece += deflater.flush()
            // After a sync flush the receiver can decode everything sent so far.
            received += try inflater.decompress(piece)
            #expect(received == expected)
        }
        received += try inflater.decompress(deflater.finish())
        try inflater.finish()
        #expect(received == expected)
        #expect(inflater.isComplete)
    }

    @Test func inflatesInputFedOneByteAtATime() throws {
        let text = SecureRandomBytes.make(count: 50_000) + [UInt8](repeating: 7, count: 50_000)
        let compressed = Gzip.compress(text)
        let inflater = GzipInflater(maxOutputBytes: text.count)
        var output: [UInt8] = []
        for byte in compressed { output += try inflater.decompress([byte]) }
        try inflater.finish()
        #expect(output == text)
        #expect(inflater.totalInputBytes == compressed.count)
        #expect(inflater.totalOutputBytes == text.count)
    }

    @Test func concatenatedGzipMembersDecodeAsOneStream() throws {
        let first = Gzip.compress("first member\n".utf8)
        let second = Gzip.compress("second member\n".utf8)
        let joined = first + second + Array(Self.gnuGzip)
        let expected = Array("first member\nsecond member\n".utf8) + Self.plain
        #expect(try Gzip.decompress(joined, maxOutputBytes: 1000) == expected)
        // zlib streams do not concatenate.
        let zlib = Array(Self.pythonZlib)
        #expect(throws: CompressionError.corrupt) {
            try Gzip.decompress(zlib + zlib, maxOutputBytes: 1000, format: .zlib)
        }
    }

    @Test func truncatedInputIsReportedAsTruncated() throws {
        let compressed = Gzip.compress(Array(repeating: UInt8(ascii: "x"), count: 10_000))
        for cut in [1, 5, 10, compressed.count / 2, compressed.count - 4, compressed.count - 1] {
            #expect(throws: CompressionError.truncated) {
                try Gzip.decompress(compressed.prefix(cut), maxOutputBytes: 20_000)
            }
        }
        #expect(throws: CompressionError.truncated) { try Gzip.decompress([], maxOutputBytes: 10) }
        // A second member that starts but never ends is truncated too.
        #expect(throws: CompressionError.truncated) {
            try Gzip.decompress(compressed + compressed.prefix(12), maxOutputBytes: 40_000)
        }
    }

    @Test func corruptInputIsReportedAsCorrupt() throws {
        let text = Array(String(repeating: "abcdefgh", count: 500).utf8)
        let compressed = Gzip.compress(text)
        #expect(throws: CompressionError.corrupt) { try Gzip.decompress("not gzip at all".utf8, maxOutputBytes: 100) }
        var badMagic = compressed
        badMagic[0] = 0x1e
        #expect(throws: CompressionError.corrupt) { try Gzip.decompress(badMagic, maxOutputBytes: 10_000) }
        var badCRC = compressed
        badCRC[badCRC.count - 6] ^= 0xff
        #expect(throws: CompressionError.corrupt) { try Gzip.decompress(badCRC, maxOutputBytes: 10_000) }
        var badLength = compressed
        badLength[badLength.count - 1] ^= 0x01
        #expect(throws: CompressionError.corrupt) { try Gzip.decompress(badLength, maxOutputBytes: 10_000) }
        #expect(throws: CompressionError.corrupt) {
            try Gzip.decompress(compressed + [0, 0, 0], maxOutputBytes: 10_000)
        }

        // A failed inflater stays failed.
        let inflater = GzipInflater(maxOutputBytes: 100)
        #expect(throws: CompressionError.corrupt) { try inflater.decompress("garbage!".utf8) }
        #expect(throws: CompressionError.corrupt) { try inflater.decompress(Self.gnuGzip) }
        #expect(throws: CompressionError.corrupt) { try inflater.finish() }
    }

    @Test func limitIsExactAndEnforced() throws {
        let text = [UInt8](repeating: 1, count: 100_000)
        let compressed = Gzip.compress(text)
        #expect(try Gzip.decompress(compressed, maxOutputBytes: 100_000) == text)
        #expect(throws: CompressionError.limitExceeded) { try Gzip.decompress(compressed, maxOutputBytes: 99_999) }
        #expect(throws: CompressionError.limitExceeded) { try Gzip.decompress(compressed, maxOutputBytes: 0) }
    }

    @Test func bombStopsAtTheLimitWithBoundedOutput() throws {
        // 128 MiB of zeros deflates to about 128 KiB: a ratio of about 1000:1.
        let deflater = GzipDeflater(level: 9)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var bomb: [UInt8] = []
        for _ in 0..<128 { bomb += deflater.compress(zeros) }
        bomb += deflater.finish()
        #expect(bomb.count < 256 * 1024)

        let limit = 4 << 20
        // All at once: the call throws instead of returning 128 MiB.
        let whole = GzipInflater(maxOutputBytes: limit)
        #expect(throws: CompressionError.limitExceeded) { try whole.decompress(bomb) }
        #expect(whole.totalOutputBytes == limit + 1)
        #expect(whole.totalInputBytes < bomb.count / 16)

        // In pieces: the total handed out never passes the limit, and the error comes early in the input.
        let pieces = GzipInflater(maxOutputBytes: limit)
        var handedOut = 0
        var consumed = 0
        do {
            for start in stride(from: 0, to: bomb.count, by: 1024) {
                consumed = start
                handedOut += try pieces.decompress(bomb[start..<min(start + 1024, bomb.count)]).count
            }
            Issue.record("the bomb inflated completely")
        } catch let error as CompressionError {
            #expect(error == .limitExceeded)
        }
        #expect(handedOut <= limit)
        #expect(consumed < bomb.count / 16)
    }
}

/// Random-looking, incompressible test bytes without depending on the Crypto module.
enum SecureRandomBytes {
    static func make(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
