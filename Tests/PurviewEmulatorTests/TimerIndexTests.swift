import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// Regression: every engine call first looks for due reminders and expiries, and that scan used to visit every task
/// ever created. With thousands of pending approvals (the replica test submits 10,000) each call slowed down in
/// proportion, so the emulator became quadratic. Only tasks created with a reminder or an expiry are scanned now.
@Suite struct TimerIndex {
    @Test func onlyTasksWithTimersAreScannedAndTheyStillFireAfterARestore() throws {
        var engine = makeEngine()
        let workflowId = try engine.put(approvalWorkflow())
        for index in 0..<40 { _ = try engine.submit(createTermRequest(name: "plain \(index)")) }
        // The same workflow, now with a daily reminder: only tasks created from here on have a timer.
        try engine.put(
            approvalWorkflow(extraApprovalParameters: ["reminderSettings": ["interval": "1 day"]]), id: workflowId)
        let (_, timedRun) = try engine.submit(createTermRequest(name: "timed"))
        let timedRunId = try #require(timedRun)
        let timedTask = try #require(engine.taskId(run: timedRunId))
        for index in 40..<45 {
            try engine.put(approvalWorkflow(), id: workflowId)
            _ = try engine.submit(createTermRequest(name: "plain \(index)"))
        }
        #expect(engine.state.taskOrder.count == 46)
        #expect(engine.state.timedTaskOrder == [timedTask])

        var restored = makeEngine()
        try restored.restore(from: engine.snapshot())
        #expect(restored.state == engine.state)
        for var copy in [engine, restored] {
            copy.advance(seconds: 86_400)
            #expect(copy.emails.map(\.kind) == [.reminder])
            #expect(copy.emails.first?.taskId == timedTask)
        }
    }
}
