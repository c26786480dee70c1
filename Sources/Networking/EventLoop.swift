import CLinuxShim
import Glibc
import Synchronization

/// Something registered with an event loop for readiness events on one file descriptor.
protocol EventLoopSelectable: AnyObject {
    /// Called on the loop thread with the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR).
    func handleEvents(_ events: UInt32)
}

/// One epoll loop on one thread.
///
/// Everything except `execute(_:)` and `inEventLoop` must be called on the loop's own thread: that is
/// what makes the unchecked `Sendable` sound. Registrations carry a generation in the epoll user data,
/// so an event queued for a descriptor that was closed and reused in the same batch is dropped.
/// Timers come from a heap whose earliest deadline becomes epoll_wait's timeout; other threads hand
/// work over through a locked queue and wake the loop with an eventfd.
public final class EventLoop: @unchecked Sendable {
    private struct PendingTasks {
        var tasks: [@Sendable () -> Void] = []
        var wakeupSent = false
        /// `run()` has returned: tasks run on the caller's thread instead (see `execute`).
        var finished = false
    }

    private struct Registration {
        var generation: UInt32 = 0
        var handler: (any EventLoopSelectable)?
    }

    /// A number for log lines and tests, 0-based within its group.
    public let index: Int

    private let epollFD: Int32
    private let wakeFD: Int32
    private let pending = Mutex(PendingTasks())
    private let threadID = Atomic<UInt>(0)

    // Loop-thread state.
    private var registrations: [Registration] = []
    private var nextGeneration: UInt32 = 1
    private var timers = TimerHeap()
    private var stopRequested = false
    /// Monotonic nanoseconds, refreshed after every wait.
    private(set) var now: UInt64

    /// Read scratch space shared by every connection of this loop: bytes are handed to a parser at once.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Scratch space response heads are encoded into and written from (larger heads go through an array).
    let headBuffer: UnsafeMutableRawBufferPointer
    /// Per-loop `Date` header cache.
    var dateCache = HTTPDateCache()

    init(index: Int) throws(IOError) {
        self.index = index
        epollFD = try Syscall.epollCreate()
        do {
            wakeFD = try Syscall.eventFD()
        } catch {
            Syscall.close(epollFD)
            throw error
        }
        do {
            try Syscall.epollControl(
                epollFD, EPOLL_CTL_ADD, wakeFD, events: EPOLLIN.rawValue, data: UInt64(UInt32(wakeFD)))
        } catch {
            Syscall.close(epollFD)
            Syscall.close(wakeFD)
            throw error
        }
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        headBuffer = .allocate(byteCount: 4096, alignment: 16)
        now = Syscall.monotonicNanoseconds()
    }

    deinit {
        Syscall.close(epollFD)
        Syscall.close(wakeFD)
        readBuffer.deallocate()
        headBuffer.deallocate()
    }

    /// True once `run()` has started on some thread.
    var threadStarted: Bool { threadID.load(ordering: .acquiring) != 0 }
    /// Whether `run()` has returned.
    var hasFinished: Bool { pending.withLock { $0.finished } }

    /// True when called on this loop's thread.
    public var inEventLoop: Bool {
        threadID.load(ordering: .acquiring) == UInt(pthread_self())
    }

    @inline(__always)
    func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(inEventLoop, "called off the event loop thread", file: file, line: line)
    }

    /// Runs `task` on the loop thread soon, after the events being handled now. Callable from any thread.
    ///
    /// Once the loop has stopped, `task` runs at once on the calling thread, so work handed back by a
    /// late task (typically resuming a continuation) is never lost; everything it finds is closed by then.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        enum Next { case wake, none, runHere }
        let next = pending.withLock { state -> Next in
            if state.finished { return .runHere }
            state.tasks.append(task)
            if state.wakeupSent { return .none }
            state.wakeupSent = true
            return .wake
        }
        if next == .runHere {
            task()
            return
        }
        if next == .wake {
            var one: UInt64 = 1
            _ = withUnsafeBytes(of: &one) { Glibc.write(wakeFD, $0.baseAddress, 8) }
        }
    }

    /// Calls `callback` on the loop thread after `delay`. Must be called on the loop thread; so must `cancel()`.
    @discardableResult
    public func scheduleTimer(after delay: Duration, _ callback: @escaping () -> Void) -> EventLoopTimer {
        assertInEventLoop()
        let timer = EventLoopTimer(loop: self, callback: callback)
        timers.schedule(timer, at: deadline(after: delay))
        return timer
    }

    func deadline(after delay: Duration) -> UInt64 {
        let (seconds, attoseconds) = delay.components
        let nanoseconds = max(0, seconds) &* 1_000_000_000 &+ max(0, attoseconds / 1_000_000_000)
        return Syscall.monotonicNanoseconds() &+ UInt64(nanoseconds)
    }

    func scheduleTimer(_ target: any TimerTarget, at deadline: UInt64) {
        timers.schedule(target, at: deadline)
    }

    func scheduledDeadline(of target: any TimerTarget) -> UInt64? {
        timers.deadline(of: target)
    }

    func cancelTimer(_ target: any TimerTarget) {
        timers.remove(target)
    }

    // MARK: registrations

    /// Watches `fd` for `events`; the handler is kept (strongly) until `deregister`.
    func register(_ fd: Int32, events: UInt32, handler: any EventLoopSelectable) throws(IOError) {
        assertInEventLoop()
        let slot = Int(fd)
        if slot >= registrations.count {
            registrations.append(
                contentsOf: repeatElement(
                    Registration(), count: max(slot + 1, registrations.count * 2) - registrations.count))
        }
        let generation = nextGeneration
        nextGeneration &+= 1
        try Syscall.epollControl(epollFD, EPOLL_CTL_ADD, fd, events: events, data: Self.userData(fd, generation))
        registrations[slot] = Registration(generation: generation, handler: handler)
    }

    func modify(_ fd: Int32, events: UInt32) throws(IOError) {
        assertInEventLoop()
        let generation = registrations[Int(fd)].generation
        try Syscall.epollControl(epollFD, EPOLL_CTL_MOD, fd, events: events, data: Self.userData(fd, generation))
    }

    /// Stops watching `fd`. Call before closing it.
    func deregister(_ fd: Int32) {
        assertInEventLoop()
        let slot = Int(fd)
        guard slot < registrations.count, registrations[slot].handler != nil else { return }
        registrations[slot] = Registration()
        // The descriptor is closed right after; a failure here changes nothing.
        try? Syscall.epollControl(epollFD, EPOLL_CTL_DEL, fd, events: 0, data: 0)
    }

    private static func userData(_ fd: Int32, _ generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    // MARK: running

    /// Runs the loop on the calling thread until `stop()`.
    func run() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        let capacity = 512
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !stopRequested {
            let count: Int
            do {
                count = try Syscall.epollWait(epollFD, events, timeoutMilliseconds: waitTimeout())
            } catch {
                preconditionFailure("epoll_wait failed: \(error)")
            }
            now = Syscall.monotonicNanoseconds()
            for index in 0..<count {
                let event = events[index]
                let data = event.data.u64
                let fd = Int32(truncatingIfNeeded: data & 0xFFFF_FFFF)
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = withUnsafeMutableBytes(of: &value) { Glibc.read(wakeFD, $0.baseAddress, 8) }
                    continue
                }
                let registration = registrations[Int(fd)]
                guard registration.generation == UInt32(truncatingIfNeeded: data >> 32),
                    let handler = registration.handler
                else { continue }
                handler.handleEvents(event.events)
            }
            runExpiredTimers()
            runPendingTasks()
        }
        // Tasks queued before the stop still run here; later ones run on their caller's thread.
        runPendingTasks()
        let late = pending.withLock { state -> [@Sendable () -> Void] in
            state.finished = true
            return state.tasks.swapAndClear()
        }
        for task in late { task() }
    }

    /// Makes `run()` return after the current iteration. Callable from any thread.
    func stop() {
        execute { [self] in stopRequested = true }
    }

    private func waitTimeout() -> Int32 {
        guard let earliest = timers.earliestDeadline else { return -1 }
        let current = Syscall.monotonicNanoseconds()
        guard earliest > current else { return 0 }
        // Round up so a timer never fires a little early and spins.
        let milliseconds = (earliest - current + 999_999) / 1_000_000
        return Int32(min(milliseconds, UInt64(Int32.max)))
    }

    private func runExpiredTimers() {
        // Bounded: a timer that reschedules itself for "now" runs again on the next iteration, not forever here.
        var budget = timers.count
        while budget > 0, let target = timers.popExpired(now: now) {
            budget -= 1
            target.timerFired(now: now)
        }
    }

    private func runPendingTasks() {
        let tasks = pending.withLock { state -> [@Sendable () -> Void] in
            state.wakeupSent = false
            return state.tasks.isEmpty ? [] : state.tasks.swapAndClear()
        }
        for task in tasks { task() }
    }
}

extension Array {
    /// Returns the contents and leaves the array empty, keeping neither's storage shared.
    fileprivate mutating func swapAndClear() -> [Element] {
        var taken: [Element] = []
        swap(&taken, &self)
        return taken
    }
}

/// A one-shot timer on an event loop. Loop-thread only.
public final class EventLoopTimer: TimerTarget {
    var timerHeapIndex = -1
    private unowned let loop: EventLoop
    private var callback: (() -> Void)?

    init(loop: EventLoop, callback: @escaping () -> Void) {
        self.loop = loop
        self.callback = callback
    }

    /// Stops the timer if it has not fired yet. Must be called on the loop thread.
    public func cancel() {
        loop.cancelTimer(self)
        callback = nil
    }

    func timerFired(now: UInt64) {
        let callback = self.callback
        self.callback = nil
        callback?()
    }
}
