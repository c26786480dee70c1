import Synchronization

/// UUIDs as Purview writes them (lowercase 8-4-4-4-12 hex), made without Foundation's `UUID()`, which reads
/// `/dev/urandom` through a new file descriptor each time (an `open` per id showed up in the emulator's
/// profile). The random bits come from the kernel's generator, fetched a page at a time.
public enum UUIDText {
    /// A random (version 4) UUID.
    public static func random() -> String {
        var (high, low) = RandomWords.shared.pair()
        high = (high & ~0xF000) | 0x4000  // version 4 in bits 12-15 of the third group
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48)  // RFC 9562 variant in the top bits of the fourth group
        return format(high: high, low: low)
    }

    /// The text of the 16 bytes `high` (first 8, big-endian) and `low` (last 8, big-endian).
    public static func format(high: UInt64, low: UInt64) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            for index in 0..<32 {
                if index == 8 || index == 12 || index == 16 || index == 20 {
                    buffer[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = index < 16 ? high : low
                let shift = UInt64(60 - 4 * (index % 16))
                buffer[position] = digits.utf8Start[Int((word >> shift) & 0xF)]
                position += 1
            }
            return position
        }
    }
}

/// Kernel randomness (the standard library's system generator) fetched 512 words at a time, so a random id
/// costs a lock instead of a system call.
final class RandomWords: Sendable {
    static let shared = RandomWords()
    private static let batch = 512

    private struct Buffer {
        var words: [UInt64] = []
        var next = 0
    }

    private let buffer = Mutex(Buffer())

    func pair() -> (UInt64, UInt64) {
        buffer.withLock { buffer in
            if buffer.next + 2 > buffer.words.count {
                var generator = SystemRandomNumberGenerator()
                buffer.words = (0..<Self.batch).map { _ in generator.next() }
                buffer.next = 0
            }
            defer { buffer.next += 2 }
            return (buffer.words[buffer.next], buffer.words[buffer.next + 1])
        }
    }
}
