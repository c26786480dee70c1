import CZlib

/// The container around deflate data.
public enum CompressionFormat: Sendable, Hashable {
    /// gzip (RFC 1952), as in `Content-Encoding: gzip`.
    case gzip
    /// zlib (RFC 1950), as `Content-Encoding: deflate` is specified.
    case zlib
    /// Bare deflate (RFC 1951), as some servers send for `deflate`.
    case rawDeflate
    /// Inflating only: gzip or zlib, detected from the header.
    case gzipOrZlib

    /// zlib's windowBits for this format (15 is the largest window; +16 selects gzip, +32 detection).
    var windowBits: Int32 {
        switch self {
        case .gzip: 15 + 16
        case .zlib: 15
        case .rawDeflate: -15
        case .gzipOrZlib: 15 + 32
        }
    }

    /// Whether a stream may hold several members back to back (gzip allows it, `cat a.gz b.gz`).
    var allowsMultipleMembers: Bool {
        switch self {
        case .gzip, .gzipOrZlib: true
        case .zlib, .rawDeflate: false
        }
    }
}

/// One-shot gzip helpers.
public enum Gzip {
    /// Compresses `bytes` into a complete gzip stream at `level` (0 = store … 9 = smallest).
    public static func compress(_ bytes: some Sequence<UInt8>, level: Int = 6) -> [UInt8] {
        let deflater = GzipDeflater(level: level)
        var output = deflater.compress(bytes)
        output.append(contentsOf: deflater.finish())
        return output
    }

    /// Decompresses a complete stream, throwing ``CompressionError/limitExceeded`` as soon as the output
    /// would pass `maxOutputBytes`, and ``CompressionError/truncated`` or ``CompressionError/corrupt`` on bad input.
    public static func decompress(
        _ bytes: some Sequence<UInt8>, maxOutputBytes: Int, format: CompressionFormat = .gzip
    ) throws -> [UInt8] {
        let inflater = GzipInflater(maxOutputBytes: maxOutputBytes, format: format)
        let output = try inflater.decompress(bytes)
        try inflater.finish()
        return output
    }
}

/// The size of each zlib output step; memory per call is bounded by this and the caller's limit.
private let stepSize = 32 * 1024

/// Feeds `input` to zlib in pieces that fit its 32-bit counters.
private func withZlibInput(
    _ stream: UnsafeMutablePointer<z_stream>, _ input: UnsafeRawBufferPointer, _ body: () throws -> Void
) rethrows {
    var offset = 0
    repeat {
        let count = min(input.count - offset, Int(UInt32.max))
        // zlib's next_in is not const-qualified, but zlib never writes through it.
        stream.pointee.next_in = input.baseAddress.map {
            UnsafeMutablePointer(mutating: $0.advanced(by: offset).assumingMemoryBound(to: Bytef.self))
        }
        stream.pointee.avail_in = UInt32(count)
        try body()
        offset += count - Int(stream.pointee.avail_in)
    } while offset < input.count
}

/// A streaming compressor: feed chunks, collect output, then finish. Not thread-safe; use from one task.
public final class GzipDeflater {
    // zlib keeps a pointer back to the z_stream, so it must live at a fixed address.
    private let stream: UnsafeMutablePointer<z_stream>
    private var buffer = [UInt8](repeating: 0, count: stepSize)
    private var finished = false

    /// Starts a stream at `level` (0…9) in `format` (gzip, zlib or raw deflate).
    public init(level: Int = 6, format: CompressionFormat = .gzip) {
        precondition((0...9).contains(level), "GzipDeflater: level must be 0...9")
        precondition(format != .gzipOrZlib, "GzipDeflater: choose .gzip or .zlib to compress")
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // memLevel 8 and the default strategy are zlib's defaults.
        let status = czlib_deflateInit2(stream, Int32(level), Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY)
        precondition(status == Z_OK, "deflateInit2 failed with \(status) (out of memory)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `chunk`, returning whatever output is ready (often nothing until enough input arrived).
    public func compress(_ chunk: some Sequence<UInt8>) -> [UInt8] {
        run(chunk, flush: Z_NO_FLUSH)
    }

    /// Returns all pending output so far, ending on a byte boundary (for sending a chunk promptly).
    public func flush() -> [UInt8] {
        run([], flush: Z_SYNC_FLUSH)
    }

    /// Ends the stream and returns the remaining output including the trailer. The deflater is done after this.
    public func finish() -> [UInt8] {
        run([], flush: Z_FINISH)
    }

    private func run(_ chunk: some Sequence<UInt8>, flush: Int32) -> [UInt8] {
        precondition(!finished, "GzipDeflater used after finish()")
        var output: [UInt8] = []
        withContiguousInput(chunk) { input in
            withZlibInput(stream, input) {
                while true {
                    let status = buffer.withUnsafeMutableBufferPointer { out in
                        stream.pointee.next_out = out.baseAddress
                        stream.pointee.avail_out = UInt32(out.count)
                        return deflate(stream, flush)
                    }
                    // Z_BUF_ERROR only says no progress was possible; anything else but OK/END is a bug.
                    precondition(
                        status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR,
                        "deflate failed with \(status)")
                    let produced = buffer.count - Int(stream.pointee.avail_out)
                    output.append(contentsOf: buffer[0..<produced])
                    if status == Z_STREAM_END {
                        finished = true
                        return
                    }
                    // A full buffer may mean more output is pending; otherwise this input is consumed.
                    if stream.pointee.avail_out != 0 && (flush != Z_FINISH || status == Z_BUF_ERROR) { return }
                }
            }
        }
        return output
    }
}

/// A streaming decompressor with an output limit, safe against decompression bombs.
///
/// Output is produced in bounded steps and counted as it is produced, so no call ever holds more than
/// `maxOutputBytes + 1` bytes of output, whatever the input's compression ratio. Not thread-safe.
public final class GzipInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let format: CompressionFormat
    private var buffer = [UInt8](repeating: 0, count: stepSize)
    private var failure: CompressionError? = nil
    private var memberEnded = false
    private var sawInput = false

    /// The largest total output this inflater will produce.
    public let maxOutputBytes: Int

    /// Total decompressed bytes produced so far.
    public private(set) var totalOutputBytes = 0

    /// Total compressed bytes consumed so far.
    public private(set) var totalInputBytes = 0

    /// Starts an inflater for `format` that fails once output would pass `maxOutputBytes`.
    public init(maxOutputBytes: Int, format: CompressionFormat = .gzip) {
        precondition(maxOutputBytes >= 0, "GzipInflater: maxOutputBytes must not be negative")
        self.maxOutputBytes = maxOutputBytes
        self.format = format
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_inflateInit2(stream, format.windowBits)
        precondition(status == Z_OK, "inflateInit2 failed with \(status) (out of memory)")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Whether the input so far ends exactly at the end of a complete stream.
    public var isComplete: Bool { memberEnded }

    /// Decompresses the next piece of input and returns the output it yields.
    ///
    /// After any error the inflater stays failed and rethrows that error.
    public func decompress(_ chunk: some Sequence<UInt8>) throws -> [UInt8] {
        if let failure { throw failure }
        var output: [UInt8] = []
        do {
            try withContiguousInput(chunk) { input in
                guard !input.isEmpty else { return }
                sawInput = true
                try withZlibInput(stream, input) { try inflateAvailableInput(into: &output) }
            }
        } catch let error as CompressionError {
            failure = error
            throw error
        }
        return output
    }

    /// Declares the end of input; throws ``CompressionError/truncated`` unless a complete stream was read.
    public func finish() throws {
        if let failure { throw failure }
        guard sawInput && memberEnded else {
            let error = CompressionError.truncated.with(detail: sawInput ? "input ended inside the stream" : "no input")
            failure = error
            throw error
        }
    }

    private func inflateAvailableInput(into output: inout [UInt8]) throws {
        while stream.pointee.avail_in > 0 || !memberEnded {
            if memberEnded {
                // More input after a complete stream: only gzip may continue with another member.
                guard format.allowsMultipleMembers else {
                    throw CompressionError.corrupt.with(detail: "data after the end of the stream")
                }
                guard inflateReset(stream) == Z_OK else { throw CompressionError.resourceFailure }
                memberEnded = false
            }
            let allowance = maxOutputBytes - totalOutputBytes
            // One byte more than allowed is enough to detect that the limit would be passed.
            let room = allowance < buffer.count ? allowance + 1 : buffer.count
            let inputBefore = stream.pointee.avail_in
            let status = buffer.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = UInt32(room)
                return inflate(stream, Z_NO_FLUSH)
            }
            let produced = room - Int(stream.pointee.avail_out)
            totalInputBytes += Int(inputBefore - stream.pointee.avail_in)
            totalOutputBytes += produced
            if totalOutputBytes > maxOutputBytes {
                throw CompressionError.limitExceeded.with(detail: "output would pass \(maxOutputBytes) bytes")
            }
            output.append(contentsOf: buffer[0..<produced])
            switch status {
            case Z_STREAM_END:
                memberEnded = true
            case Z_OK:
                // Output space left over means zlib wants more input.
                if stream.pointee.avail_out != 0 && stream.pointee.avail_in == 0 { return }
            case Z_BUF_ERROR:
                // No progress possible: input exhausted, with no pending output.
                return
            case Z_DATA_ERROR, Z_NEED_DICT:
                throw CompressionError.corrupt.with(detail: zlibMessage() ?? "invalid compressed data")
            case Z_MEM_ERROR:
                throw CompressionError.resourceFailure.with(detail: "zlib is out of memory")
            default:
                throw CompressionError.resourceFailure.with(detail: "inflate returned \(status)")
            }
        }
    }

    private func zlibMessage() -> String? {
        stream.pointee.msg.map { String(cString: $0) }
    }
}

/// Runs `body` over `sequence`'s bytes, copying only if they are not contiguous.
private func withContiguousInput<Result>(
    _ sequence: some Sequence<UInt8>, _ body: (UnsafeRawBufferPointer) throws -> Result
) rethrows -> Result {
    if let result = try sequence.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return try Array(sequence).withUnsafeBytes(body)
}
