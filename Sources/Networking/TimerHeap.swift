/// Something an event loop can wake at a deadline. Owned by one loop; touched only on its thread.
protocol TimerTarget: AnyObject {
    /// Position in the loop's heap, or -1 when not scheduled. Maintained by `TimerHeap` only.
    var timerHeapIndex: Int { get set }
    /// Called on the loop thread once the deadline the target was scheduled for has passed.
    func timerFired(now: UInt64)
}

/// A binary min-heap of deadlines that knows where each target sits, so rescheduling and removal are O(log n).
///
/// Each target is in the heap at most once.
struct TimerHeap {
    private struct Entry {
        var deadline: UInt64
        var target: any TimerTarget
    }

    private var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The earliest deadline, if any.
    var earliestDeadline: UInt64? { entries.first?.deadline }

    /// The deadline `target` is scheduled for, if it is in the heap.
    func deadline(of target: any TimerTarget) -> UInt64? {
        let index = target.timerHeapIndex
        guard index >= 0 else { return nil }
        return entries[index].deadline
    }

    /// Inserts `target`, or moves it to `deadline` if it is already scheduled.
    mutating func schedule(_ target: any TimerTarget, at deadline: UInt64) {
        let index = target.timerHeapIndex
        if index >= 0 {
            let old = entries[index].deadline
            entries[index].deadline = deadline
            if deadline < old { siftUp(index) } else { siftDown(index) }
            return
        }
        entries.append(Entry(deadline: deadline, target: target))
        target.timerHeapIndex = entries.count - 1
        siftUp(entries.count - 1)
    }

    mutating func remove(_ target: any TimerTarget) {
        let index = target.timerHeapIndex
        guard index >= 0 else { return }
        target.timerHeapIndex = -1
        let last = entries.count - 1
        if index != last {
            entries.swapAt(index, last)
            entries[index].target.timerHeapIndex = index
        }
        entries.removeLast()
        if index < entries.count {
            siftUp(index)
            siftDown(entries[index].target.timerHeapIndex)
        }
    }

    /// Removes and returns the earliest target whose deadline is at or before `now`.
    mutating func popExpired(now: UInt64) -> (any TimerTarget)? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        remove(first.target)
        return first.target
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            entries[child].target.timerHeapIndex = child
            entries[parent].target.timerHeapIndex = parent
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = entries.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var smallest = left
            let right = left + 1
            if right < count, entries[right].deadline < entries[left].deadline { smallest = right }
            guard entries[smallest].deadline < entries[parent].deadline else { break }
            entries.swapAt(smallest, parent)
            entries[smallest].target.timerHeapIndex = smallest
            entries[parent].target.timerHeapIndex = parent
            parent = smallest
        }
    }
}
