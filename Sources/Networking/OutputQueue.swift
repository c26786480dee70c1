import Glibc

/// Bytes waiting to be written to a socket, kept as the arrays they came in (no copying into one buffer).
struct OutputQueue {
    private var chunks: [[UInt8]] = []
    /// Bytes of `chunks[0]` already written.
    private var firstOffset = 0
    private(set) var byteCount = 0

    var isEmpty: Bool { byteCount == 0 }

    mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        chunks.append(bytes)
        byteCount += bytes.count
    }

    /// Appends the bytes of `buffer` from `offset` on (a copy).
    mutating func append(_ buffer: UnsafeRawBufferPointer, from offset: Int) {
        guard offset < buffer.count else { return }
        append(Array(UnsafeRawBufferPointer(rebasing: buffer[offset...])))
    }

    /// Appends `bytes` from `offset` on, without copying when nothing was written yet.
    mutating func append(_ bytes: [UInt8], from offset: Int) {
        guard offset < bytes.count else { return }
        if chunks.isEmpty {
            chunks.append(bytes)
            firstOffset = offset
            byteCount = bytes.count - offset
        } else {
            append(offset == 0 ? bytes : Array(bytes[offset...]))
        }
    }

    mutating func removeAll() {
        chunks = []
        firstOffset = 0
        byteCount = 0
    }

    /// Writes what the socket takes with one gathered send. Returns the bytes written (0 when it would block).
    mutating func write(to fd: Int32) throws(IOError) -> Int {
        guard !chunks.isEmpty else { return 0 }
        let vectorCount = min(chunks.count, 64)
        let result = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: vectorCount) {
            vectors throws(IOError) -> IOResult<Int> in
            try fill(vectors, index: 0, count: vectorCount) { () throws(IOError) -> IOResult<Int> in
                try Syscall.send(fd, UnsafeBufferPointer(vectors))
            }
        }
        guard case .processed(let written) = result else { return 0 }
        consume(written)
        return written
    }

    /// Points `vectors[index...]` at the chunks (each array pinned by nesting `withUnsafeBytes`), then calls `body`.
    private func fill<R>(
        _ vectors: UnsafeMutableBufferPointer<iovec>, index: Int, count: Int, _ body: () throws(IOError) -> R
    ) throws(IOError) -> R {
        if index == count { return try body() }
        let offset = index == 0 ? firstOffset : 0
        // `withUnsafeBytes` only rethrows untyped errors: carry the typed one through a Result.
        let result = chunks[index].withUnsafeBytes { bytes -> Result<R, IOError> in
            vectors[index] = iovec(
                iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress! + offset), iov_len: bytes.count - offset)
            do throws(IOError) {
                return .success(try fill(vectors, index: index + 1, count: count, body))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private mutating func consume(_ written: Int) {
        byteCount -= written
        var remaining = written
        var removed = 0
        while remaining > 0 {
            let available = chunks[removed].count - firstOffset
            if remaining >= available {
                remaining -= available
                firstOffset = 0
                removed += 1
            } else {
                firstOffset += remaining
                remaining = 0
            }
        }
        if removed == chunks.count {
            chunks.removeAll(keepingCapacity: false)
        } else if removed > 0 {
            chunks.removeFirst(removed)
        }
    }
}
