import HTTP
import Testing

@testable import Networking

/// The connection state machine as a plain value: events in, actions out, no sockets and no clock.
@Suite struct HTTPConnectionStateMachineTests {
    typealias Machine = HTTPConnectionStateMachine

    /// A machine that has received a complete request head (and body, when `bodyComplete`).
    private func machineWithRequest(keepAlive: Bool = true, bodyComplete: Bool = true) -> Machine {
        var machine = Machine()
        _ = machine.connectionOpened()
        _ = machine.headReceived(keepAlive: keepAlive, expectsContinue: false)
        if bodyComplete { _ = machine.requestEnded() }
        return machine
    }

    @Test func freshConnectionReadsWithTheHeadTimeout() {
        var machine = Machine()
        #expect(machine.connectionOpened() == .read(timeout: .head))
        #expect(machine.phase == .keepAliveIdle)
    }

    @Test func firstBytesStartTheHeadTimeoutOnce() {
        var machine = Machine()
        _ = machine.connectionOpened()
        #expect(machine.bytesArrived() == .setTimeout(.head))
        #expect(machine.phase == .readingHead)
        // More bytes of the same head do not restart it: a slowloris client cannot extend its time.
        #expect(machine.bytesArrived() == .none)
    }

    @Test func keepAliveRequestCycle() {
        var machine = Machine()
        _ = machine.connectionOpened()
        #expect(machine.headReceived(keepAlive: true, expectsContinue: false) == .startHandler(readBody: true, timeout: .bodyIdle))
        #expect(machine.phase == .readingBody)
        #expect(machine.bodyReceived(bufferFull: false) == .setTimeout(.bodyIdle))
        #expect(machine.requestEnded() == .stopReading(timeout: nil))
        #expect(machine.phase == .awaitingHandler)
        #expect(machine.responseStarted(complete: true) == .writeResponse(closeAfter: false))
        #expect(machine.phase == .writingResponse)
        #expect(machine.outputFlushed() == .nextRequest(timeout: .keepAliveIdle))
        #expect(machine.phase == .keepAliveIdle)
        // A second request on the same connection.
        #expect(machine.bytesArrived() == .setTimeout(.head))
        #expect(machine.headReceived(keepAlive: true, expectsContinue: false) == .startHandler(readBody: true, timeout: .bodyIdle))
    }

    @Test func nonKeepAliveRequestClosesAfterTheResponse() {
        var machine = machineWithRequest(keepAlive: false)
        #expect(machine.responseStarted(complete: true) == .writeResponse(closeAfter: true))
        #expect(machine.outputFlushed() == .close(linger: false))
        #expect(machine.phase == .closed)
    }

    @Test func responseThatDemandsCloseEndsTheConnection() {
        var machine = machineWithRequest()
        #expect(machine.responseStarted(complete: true, mustClose: true) == .writeResponse(closeAfter: true))
        #expect(machine.outputFlushed() == .close(linger: false))
    }

    @Test func continueIsSentOnlyWhenTheHandlerAsks() {
        var machine = Machine()
        _ = machine.connectionOpened()
        #expect(machine.headReceived(keepAlive: true, expectsContinue: true) == .startHandler(readBody: false, timeout: nil))
        #expect(machine.phase == .readingBody)
        #expect(machine.bodyDemanded() == .sendContinueAndRead(timeout: .bodyIdle))
        // Flushing the interim response keeps waiting for the body.
        #expect(machine.outputFlushed() == .setTimeout(.bodyIdle))
        #expect(machine.bodyDemanded() == .none)
        #expect(machine.requestEnded() == .stopReading(timeout: nil))
    }

    @Test func handlerAnsweringWithoutTheBodyNeverSendsContinueAndCloses() {
        var machine = Machine()
        _ = machine.connectionOpened()
        _ = machine.headReceived(keepAlive: true, expectsContinue: true)
        #expect(machine.responseStarted(complete: true) == .writeResponse(closeAfter: true))
        // Body bytes were never read: close, lingering so the client sees the response.
        #expect(machine.outputFlushed() == .close(linger: true))
    }

    @Test func clientSendingTheBodyAnywaySkipsContinue() {
        var machine = Machine()
        _ = machine.connectionOpened()
        _ = machine.headReceived(keepAlive: true, expectsContinue: true)
        #expect(machine.bodyReceived(bufferFull: false) == .setTimeout(.bodyIdle))
        #expect(machine.bodyDemanded() == .none)
    }

    @Test func fullBodyBufferPausesReadingUntilDemand() {
        var machine = machineWithRequest(bodyComplete: false)
        #expect(machine.bodyReceived(bufferFull: true) == .stopReading(timeout: nil))
        // Paused for the handler: a stale timer firing now is ignored, the client is not at fault.
        #expect(machine.timeout() == .none)
        #expect(machine.bodyDemanded() == .read(timeout: .bodyIdle))
        #expect(machine.bodyReceived(bufferFull: false) == .setTimeout(.bodyIdle))
    }

    @Test func streamedResponse() {
        var machine = machineWithRequest()
        #expect(machine.responseStarted(complete: false) == .writeResponse(closeAfter: false))
        // Waiting for the producer's next part arms nothing.
        #expect(machine.outputFlushed() == .setTimeout(nil))
        #expect(machine.writeBlocked() == .setTimeout(.writeStall))
        #expect(machine.responseEnded() == .none)
        #expect(machine.outputFlushed() == .nextRequest(timeout: .keepAliveIdle))
    }

    @Test func writeStallTimeoutCloses() {
        var machine = machineWithRequest()
        _ = machine.responseStarted(complete: false)
        _ = machine.writeBlocked()
        #expect(machine.timeout() == .close(linger: false))
        #expect(machine.phase == .closed)
    }

    @Test(arguments: [400, 413, 414, 431, 501])
    func parseErrorBeforeAResponseIsAnsweredThenCloses(code: Int) {
        var machine = Machine()
        _ = machine.connectionOpened()
        _ = machine.bytesArrived()
        let status = HTTPStatus(code: code)
        #expect(machine.parseFailed(status, message: "bad") == .writeError(status, message: "bad"))
        #expect(machine.phase == .closing)
        #expect(machine.writeBlocked() == .setTimeout(.writeStall))
        #expect(machine.outputFlushed() == .close(linger: true))
    }

    @Test func parseErrorInTheBodyWhileTheHandlerRunsIsAnswered() {
        var machine = machineWithRequest(bodyComplete: false)
        #expect(machine.parseFailed(.badRequest, message: "bad chunk") == .writeError(.badRequest, message: "bad chunk"))
        // The handler's late answer is dropped.
        #expect(machine.responseStarted(complete: true) == .none)
    }

    @Test func parseErrorAfterTheResponseStartedJustCloses() {
        var machine = machineWithRequest(bodyComplete: false)
        _ = machine.responseStarted(complete: false)
        #expect(machine.parseFailed(.badRequest, message: "bad") == .close(linger: false))
    }

    @Test func timeouts() {
        var idle = Machine()
        _ = idle.connectionOpened()
        #expect(idle.timeout() == .close(linger: false))

        var head = Machine()
        _ = head.connectionOpened()
        _ = head.bytesArrived()
        #expect(head.timeout() == .writeError(.requestTimeout, message: "The request head was not received in time."))

        var body = machineWithRequest(bodyComplete: false)
        #expect(body.timeout() == .writeError(.requestTimeout, message: "The request body was not received in time."))

        var handler = machineWithRequest()
        #expect(handler.timeout() == .none)
        #expect(handler.phase == .awaitingHandler)

        var closing = Machine()
        _ = closing.connectionOpened()
        _ = closing.parseFailed(.badRequest, message: "x")
        #expect(closing.timeout() == .close(linger: false))
        #expect(closing.timeout() == .none)
    }

    @Test func peerClose() {
        var idle = Machine()
        _ = idle.connectionOpened()
        #expect(idle.peerClosed() == .close(linger: false))

        var body = machineWithRequest(bodyComplete: false)
        #expect(body.peerClosed() == .close(linger: false))

        // A complete request is still answered after the client half-closes, then the connection ends.
        var answered = machineWithRequest()
        #expect(answered.peerClosed() == .none)
        #expect(answered.responseStarted(complete: true) == .writeResponse(closeAfter: true))
        #expect(answered.outputFlushed() == .close(linger: false))
    }

    @Test func ioFailureClosesOnce() {
        var machine = machineWithRequest()
        #expect(machine.ioFailed() == .close(linger: false))
        #expect(machine.ioFailed() == .none)
        #expect(machine.responseStarted(complete: true) == .none)
    }

    @Test func shutdownClosesIdleAndFinishesInFlight() {
        var idle = Machine()
        _ = idle.connectionOpened()
        #expect(idle.shutdownRequested() == .close(linger: false))

        var busy = machineWithRequest()
        #expect(busy.shutdownRequested() == .none)
        #expect(busy.responseStarted(complete: true) == .writeResponse(closeAfter: true))
        #expect(busy.outputFlushed() == .close(linger: false))

        // A head still arriving is answered, but on a connection that then closes.
        var arriving = Machine()
        _ = arriving.connectionOpened()
        _ = arriving.bytesArrived()
        #expect(arriving.shutdownRequested() == .none)
        _ = arriving.headReceived(keepAlive: true, expectsContinue: false)
        #expect(arriving.keepAlive == false)
    }

    @Test func eventsThatDoNotApplyAreIgnored() {
        var machine = Machine()
        _ = machine.connectionOpened()
        #expect(machine.bodyReceived(bufferFull: false) == .none)
        #expect(machine.bodyDemanded() == .none)
        #expect(machine.requestEnded() == .none)
        #expect(machine.responseEnded() == .none)
        #expect(machine.writeBlocked() == .none)
        #expect(machine.outputFlushed() == .none)
    }
}
