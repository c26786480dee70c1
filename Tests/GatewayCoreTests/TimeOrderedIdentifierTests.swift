import FoundationEssentials
import GatewayCore
import PurviewWorkflow
import Testing

@Suite struct TimeOrderedIdentifierTests {
    @Test func idsAreVersion7UUIDsCarryingTheirMillisecond() throws {
        let time = Date(timeIntervalSince1970: 1_800_000_000.123)
        let id = TimeOrderedIdentifier.make(at: time)
        #expect(id == id.lowercased())
        #expect(Identifiers.isUUID(id))
        let uuid = try #require(UUID(uuidString: id)).uuid
        #expect(uuid.6 >> 4 == 7)
        #expect(uuid.8 >> 6 == 0b10)
        let prefix = [uuid.0, uuid.1, uuid.2, uuid.3, uuid.4, uuid.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(prefix == 1_800_000_000_123)
    }

    @Test func laterIdsSortAfterEarlierOnesAndIdsDiffer() {
        let ids = (0..<200).map {
            TimeOrderedIdentifier.make(at: Date(timeIntervalSince1970: 1_800_000_000 + Double($0) / 1000))
        }
        #expect(ids == ids.sorted())
        let sameInstant = (0..<1000).map { _ in
            TimeOrderedIdentifier.make(at: Date(timeIntervalSince1970: 1_800_000_000))
        }
        #expect(Set(sameInstant).count == 1000)
    }

    @Test func randomIdsAreVersion4UUIDsAndDiffer() throws {
        let ids = (0..<2000).map { _ in UUIDText.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(50) {
            #expect(id == id.lowercased())
            #expect(Identifiers.isUUID(id))
            let uuid = try #require(UUID(uuidString: id)).uuid
            #expect(uuid.6 >> 4 == 4)
            #expect(uuid.8 >> 6 == 0b10)
        }
    }
}
