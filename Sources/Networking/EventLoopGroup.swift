import CLinuxShim
import Glibc
import Synchronization

/// A fixed set of event loops, each running on its own dedicated thread (one per core by default).
public final class EventLoopGroup: Sendable {
    /// The loops, in index order.
    public let loops: [EventLoop]
    private let threads: Mutex<[ThreadHandle]>
    private let nextIndex = Atomic<Int>(0)

    private struct ThreadHandle: @unchecked Sendable {
        var thread: pthread_t
    }

    /// The number of online processors, at least 1.
    public static var coreCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Creates `loopCount` loops and starts their threads.
    public init(loopCount: Int = EventLoopGroup.coreCount) throws(IOError) {
        precondition(loopCount > 0, "an event loop group needs at least one loop")
        var loops: [EventLoop] = []
        for index in 0..<loopCount { loops.append(try EventLoop(index: index)) }
        self.loops = loops
        var handles: [ThreadHandle] = []
        for loop in loops {
            handles.append(ThreadHandle(thread: try Self.startThread(name: "evloop-\(loop.index)") { loop.run() }))
        }
        threads = Mutex(handles)
        // Wait until every loop knows its thread, so `inEventLoop` is right from the first `execute`.
        for loop in loops {
            var spins = 0
            while !loop.threadStarted, spins < 100_000 {
                spins += 1
                sched_yield()
            }
        }
    }

    /// A loop chosen round-robin.
    public func next() -> EventLoop {
        loops[nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Stops every loop and waits for its thread. Must not be called on one of the loops.
    public func shutdown() {
        precondition(!loops.contains { $0.inEventLoop }, "EventLoopGroup.shutdown() called on one of its own loops")
        stopLoops()
    }

    /// Stops the loops and joins their threads, except the calling thread's own (which cannot be joined from
    /// itself): it is detached and finishes once the callback running it returns.
    private func stopLoops() {
        let handles = threads.withLock { handles -> [ThreadHandle] in
            defer { handles.removeAll() }
            return handles
        }
        guard !handles.isEmpty else { return }
        for loop in loops { loop.stop() }
        for (loop, handle) in zip(loops, handles) {
            if loop.inEventLoop {
                pthread_detach(handle.thread)
            } else {
                pthread_join(handle.thread, nil)
            }
        }
    }

    deinit {
        // The last reference may go away in a callback on one of the loops (a client or server released while
        // its callback runs): no precondition here.
        stopLoops()
    }

    private final class ThreadBody {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private static func startThread(name: String, _ body: @escaping () -> Void) throws(IOError) -> pthread_t {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw IOError(errnoCode: result, call: "pthread_create")
        }
        _ = cshim_pthread_setname(thread, name)
        return thread
    }
}
