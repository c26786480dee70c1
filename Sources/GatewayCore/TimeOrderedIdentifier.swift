public import FoundationEssentials
import PurviewWorkflow

/// Request ids: UUIDs of version 7 (RFC 9562), lowercase: 48 bits of Unix milliseconds, then 74 random bits.
///
/// Ids made one after the other sort together, so each insert appends to the primary key and to the indexes
/// that end in the id instead of touching a random page of each (random UUIDv4 ids cost about three times
/// the write-ahead-log pages per insert).
public enum TimeOrderedIdentifier {
    public static func make(at time: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, (time.timeIntervalSince1970 * 1000).rounded(.down)))
        let random = generator.next() as UInt64
        let more = generator.next() as UInt64
        // 48 bits of milliseconds, version 7, 12 random bits; the variant, then 62 random bits.
        let high = (milliseconds & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | (random & 0x0FFF)
        let low = (0x80 | (random >> 16) & 0x3F) << 56 | (more & 0x00FF_FFFF_FFFF_FFFF)
        return UUIDText.format(high: high, low: low)
    }
}
