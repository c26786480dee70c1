import Foundation
import HTTP
import Synchronization
import Testing

@testable import Networking

/// The loop machinery below the server: timer heap, loops, output queue, head encoding, dates.
@Suite struct EventLoopTests {
    private final class Probe: TimerTarget {
        var timerHeapIndex = -1
        let name: Int
        init(_ name: Int) { self.name = name }
        func timerFired(now: UInt64) {}
    }

    /// A callback can hold the last reference to its own group (a client or server released while a callback is
    /// still running): the group then goes away on one of its loops, which must not crash the process.
    @Test func aGroupReleasedOnItsOwnLoopStopsItsThreads() async throws {
        var group: EventLoopGroup? = try EventLoopGroup(loopCount: 2)
        let loops = try #require(group?.loops)
        let released = DispatchSemaphore(value: 0)
        let gone = DispatchSemaphore(value: 0)
        loops[0].execute { [group] in
            released.wait()
            _ = group
        }
        group = nil
        released.signal()
        // The closure (and with it the group) is released on loop 0; both loops stop.
        loops[1].execute { gone.signal() }
        #expect(gone.wait(timeout: .now() + 5) == .success)
        for _ in 0..<500 where !loops.allSatisfy(\.hasFinished) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let finished = loops.allSatisfy(\.hasFinished)
        #expect(finished)
    }

    @Test func timerHeapPopsInDeadlineOrderThroughReschedulesAndRemovals() {
        var heap = TimerHeap()
        var generator = SystemRandomNumberGenerator()
        let probes = (0..<200).map(Probe.init)
        var expected: [Int: UInt64] = [:]
        for probe in probes {
            let deadline = UInt64.random(in: 1...10_000, using: &generator)
            heap.schedule(probe, at: deadline)
            expected[probe.name] = deadline
        }
        // Move some earlier, some later, remove some.
        for probe in probes where probe.name.isMultiple(of: 3) {
            let deadline = UInt64.random(in: 1...10_000, using: &generator)
            heap.schedule(probe, at: deadline)
            expected[probe.name] = deadline
        }
        for probe in probes where probe.name.isMultiple(of: 7) {
            heap.remove(probe)
            expected[probe.name] = nil
            #expect(probe.timerHeapIndex == -1)
        }
        #expect(heap.count == expected.count)
        var popped: [UInt64] = []
        while let target = heap.popExpired(now: .max) {
            let probe = target as! Probe
            popped.append(expected[probe.name]!)
            #expect(probe.timerHeapIndex == -1)
        }
        #expect(popped == expected.values.sorted())
        #expect(heap.isEmpty)
    }

    @Test func timerHeapOnlyPopsExpiredTargets() {
        var heap = TimerHeap()
        let early = Probe(1)
        let late = Probe(2)
        heap.schedule(late, at: 200)
        heap.schedule(early, at: 100)
        #expect(heap.earliestDeadline == 100)
        #expect(heap.popExpired(now: 99) == nil)
        #expect((heap.popExpired(now: 150) as? Probe)?.name == 1)
        #expect(heap.popExpired(now: 150) == nil)
        #expect(heap.deadline(of: late) == 200)
    }

    @Test func executeRunsTasksInOrderOnTheLoopThread() async throws {
        let group = try EventLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let loop = group.loops[1]
        #expect(!loop.inEventLoop)
        let seen = Mutex<[Int]>([])
        let onLoop = Atomic<Bool>(true)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            for index in 0..<1000 {
                loop.execute {
                    if !loop.inEventLoop { onLoop.store(false, ordering: .relaxed) }
                    seen.withLock { $0.append(index) }
                    if index == 999 { continuation.resume() }
                }
            }
        }
        #expect(seen.withLock { $0 } == Array(0..<1000))
        let allOnLoop = onLoop.load(ordering: .relaxed)
        #expect(allOnLoop)
    }

    @Test func timersFireInOrderAndCancelledOnesDoNot() async throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let fired = Mutex<[String]>([])
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                loop.scheduleTimer(after: .milliseconds(60)) {
                    fired.withLock { $0.append("late") }
                    continuation.resume()
                }
                loop.scheduleTimer(after: .milliseconds(20)) { fired.withLock { $0.append("early") } }
                let cancelled = loop.scheduleTimer(after: .milliseconds(40)) {
                    fired.withLock { $0.append("cancelled") }
                }
                cancelled.cancel()
            }
        }
        #expect(fired.withLock { $0 } == ["early", "late"])
    }

    @Test func stoppedLoopRunsLateTasksOnTheCaller() throws {
        let group = try EventLoopGroup(loopCount: 1)
        let loop = group.loops[0]
        group.shutdown()
        let ran = Atomic<Bool>(false)
        loop.execute { ran.store(true, ordering: .relaxed) }
        let ranInline = ran.load(ordering: .relaxed)
        #expect(ranInline)
    }

    @Test func outputQueueWritesAcrossPartialWrites() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let flags = fcntl(fds[0], F_GETFL)
        _ = fcntl(fds[0], F_SETFL, flags | O_NONBLOCK)
        var queue = OutputQueue()
        var sent: [UInt8] = []
        for index in 0..<100 {
            let chunk = [UInt8](repeating: UInt8(index), count: 997 * (index % 7 + 1))
            queue.append(chunk)
            sent += chunk
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var rounds = 0
        while (!queue.isEmpty || received.count < sent.count) && rounds < 10_000 {
            rounds += 1
            _ = try queue.write(to: fds[0])
            let count = buffer.withUnsafeMutableBytes { recv(fds[1], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 { received += buffer[0..<count] }
        }
        #expect(queue.byteCount == 0)
        #expect(received == sent)
    }

    @Test func responseHeadEncoding() {
        var buffer: [UInt8] = []
        let fields = HTTPFields([
            ("Content-Type", "application/json"), ("Content-Length", "999"), ("Transfer-Encoding", "chunked"),
            ("Connection", "keep-alive"), ("X-Split", "a\r\nb"), ("Bad Name", "x"), ("Vary", "Origin"),
        ])
        ResponseHeadEncoder.encode(
            status: .created, fields: fields,
            extras: ResponseHeadEncoder.Extras(
                framing: .contentLength(42), closeAfter: true, announceKeepAlive: false,
                dateLine: Array("Date: X\r\n".utf8), serverLine: Array("Server: s\r\n".utf8),
                requestID: ("X-Request-ID", "r1"), contentEncodingGzip: true, varyAcceptEncoding: true),
            into: &buffer)
        #expect(
            String(decoding: buffer, as: UTF8.self)
                == "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nVary: Origin, Accept-Encoding\r\n"
                + "Content-Encoding: gzip\r\nX-Request-ID: r1\r\nDate: X\r\nServer: s\r\nContent-Length: 42\r\n"
                + "Connection: close\r\n\r\n")
        buffer.removeAll()
        ResponseHeadEncoder.encode(
            status: HTTPStatus(code: 299, reasonPhrase: "Custom\r\nX: y"), fields: HTTPFields(),
            extras: ResponseHeadEncoder.Extras(
                framing: .chunked, closeAfter: false, announceKeepAlive: true, dateLine: [], serverLine: nil),
            into: &buffer)
        #expect(
            String(decoding: buffer, as: UTF8.self)
                == "HTTP/1.1 299 CustomX: y\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")
    }

    @Test func responseHeadLargerThanTheWriterIsCountedThenWrittenWhole() {
        let fields = HTTPFields((0..<3).map { ("X-Long-\($0)", String(repeating: "x", count: 700)) })
        let extras = ResponseHeadEncoder.Extras(
            framing: .contentLength(5), closeAfter: false, announceKeepAlive: false,
            dateLine: Array("Date: X\r\n".utf8), serverLine: nil)
        // Over the 1 KiB first attempt: encoded again into an array of the size counted.
        var head: [UInt8] = Array("prefix".utf8)
        ResponseHeadEncoder.encode(status: .ok, fields: fields, extras: extras, into: &head)
        let expected =
            "prefixHTTP/1.1 200 OK\r\n"
            + (0..<3).map { "X-Long-\($0): \(String(repeating: "x", count: 700))\r\n" }.joined()
            + "Date: X\r\nContent-Length: 5\r\n\r\n"
        #expect(String(decoding: head, as: UTF8.self) == expected)
        var small = [UInt8](repeating: 0, count: 16)
        small.withUnsafeMutableBytes { buffer in
            var writer = HeadWriter(buffer)
            ResponseHeadEncoder.encode(status: .ok, fields: fields, extras: extras, into: &writer)
            #expect(writer.overflowed)
            #expect(writer.count == expected.utf8.count - "prefix".utf8.count)
        }
    }

    @Test func numbersAreWrittenWithoutAllocation() {
        for value in [0, 7, 10, 99, 100, 4096, 1_000_000, Int.max] {
            var decimal = [UInt8](repeating: 0, count: 32)
            let length = decimal.withUnsafeMutableBytes { buffer in
                var writer = HeadWriter(buffer)
                writer.appendDecimal(value)
                return writer.count
            }
            #expect(String(decoding: decimal[..<length], as: UTF8.self) == String(value))
            var hex: [UInt8] = []
            ResponseHeadEncoder.appendHex(value, into: &hex)
            #expect(String(decoding: hex, as: UTF8.self) == String(value, radix: 16))
        }
    }

    @Test func dateHeaderIsIMFFixdate() {
        #expect(
            String(decoding: HTTPDateCache.format(784_111_777), as: UTF8.self)
                == "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n")
        #expect(String(decoding: HTTPDateCache.format(0), as: UTF8.self) == "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n")
    }
}
