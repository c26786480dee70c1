import CLinuxShim
import Glibc
import HTTP

/// One accepted connection: carries out what its `HTTPConnectionStateMachine` decides.
///
/// Lives on one loop and is touched only on that loop's thread; handler tasks reach it through
/// `loop.execute`, tagging each message with the exchange number so a late message from an earlier
/// request (or a closed connection) is dropped. That confinement is why the unchecked `Sendable` holds.
///
/// Reading uses edge-triggered epoll without ever modifying the registration: `readReady` remembers that
/// the kernel has bytes, and the connection simply does not read while the machine says not to (a
/// request in flight, a slow handler, 100-continue). A read shorter than the buffer means the socket
/// was drained, so no extra read is needed to see EAGAIN.
final class ServerConnection: EventLoopSelectable, TimerTarget, @unchecked Sendable {
    typealias Machine = HTTPConnectionStateMachine

    let fd: Int32
    let remoteAddress: SocketAddress
    // Unretained: the loop, its server context and the core all outlive every connection (connections
    // are closed before a server's loops stop), and these are read on every event.
    unowned(unsafe) let context: ServerLoopContext
    private unowned(unsafe) let loop: EventLoop
    private unowned(unsafe) let core: ServerCore
    var registryIndex = -1
    /// The TLS session between socket and HTTP, or nil for plain TCP. With TLS, plaintext is encrypted
    /// as soon as it is queued, and `output` stays empty: the engine's ciphertext buffer is the queue.
    private let tls: TLSConnection?

    private var machine = Machine()
    private var parser: HTTPRequestParser
    private var output = OutputQueue()

    private var readReady = false
    private var writeReady = true
    /// The machine wants socket reads.
    private var reading = false
    private var sawEOF = false
    private var closed = false
    private var lingering = false
    /// Set once `close(2)` ran: the number may be reused by another connection from then on.
    private var descriptorClosed = false
    private var lingerDiscarded = 0
    /// Re-entrancy guard: actions that want more work set `needsDrive` instead of recursing.
    private var driving = false
    private var needsDrive = false

    var timerHeapIndex = -1
    /// Monotonic deadline of the armed timeout, 0 when none. The heap entry may be earlier (it is moved
    /// lazily): when it fires early the connection just reschedules itself.
    private var deadline: UInt64 = 0

    private var exchange: Exchange?
    private var exchangeNumber: UInt64 = 0

    /// The request being handled. A class so the connection mutates it in place (loop thread only).
    private final class Exchange {
        let number: UInt64
        let head: HTTPRequestHead
        let route: HTTPRoute
        let requestID: String?
        let decoding: BodyDecoding
        var body: BodySink = .collecting([])
        var launched = false
        var task: Task<Void, Never>?
        /// A streamed response's producer, waiting until the output queue drains.
        var producerWaiter: ProducerWaiter?
        var isHead: Bool { head.method == .head }

        init(number: UInt64, head: HTTPRequestHead, route: HTTPRoute, requestID: String?, decoding: BodyDecoding) {
            self.number = number
            self.head = head
            self.route = route
            self.requestID = requestID
            self.decoding = decoding
        }
    }

    /// A streamed response's producer waiting for room. Boxed: an optional class reference is free to test
    /// and clear on every request, an optional generic continuation goes through value witnesses.
    private final class ProducerWaiter {
        let continuation: CheckedContinuation<Void, any Error>
        init(_ continuation: CheckedContinuation<Void, any Error>) { self.continuation = continuation }
    }

    private enum BodySink {
        /// Held until the handler runs: the whole body for immediate handlers, the first bytes otherwise.
        case collecting([UInt8])
        case stream(RequestBodyStream)
        case done
    }

    /// A streamed response writer may run this far ahead of the socket.
    private static let outputHighWatermark = 64 * 1024

    init(fd: Int32, remoteAddress: SocketAddress, context: ServerLoopContext, tls: TLSConnection?) {
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.context = context
        self.loop = context.loop
        self.core = context.core
        self.tls = tls
        parser = HTTPRequestParser(limits: context.core.configuration.limits)
    }

    func opened() {
        perform(machine.connectionOpened())
    }

    // MARK: events from the loop

    func handleEvents(_ events: UInt32) {
        if lingering {
            // Only waiting for the client to finish: drain, and close at its EOF or hang-up.
            readReady = true
            if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { finalClose() } else { discardInput() }
            return
        }
        if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            // Reset or fully hung up: nothing more can be read or written.
            if events & EPOLLIN.rawValue != 0 { readReady = true }
            writeReady = true
            if !reading {
                perform(machine.ioFailed())
                return
            }
        }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { readReady = true }
        if events & EPOLLOUT.rawValue != 0 { writeReady = true }
        if events & EPOLLRDHUP.rawValue != 0, !reading {
            // The client finished sending while a request is being answered: no further request will come.
            switch machine.phase {
            case .awaitingHandler, .writingResponse: perform(machine.peerClosed())
            default: break
            }
        }
        drive()
    }

    func timerFired(now: UInt64) {
        guard deadline != 0, !closed else { return }
        if deadline > now {
            loop.scheduleTimer(self, at: deadline)
            return
        }
        deadline = 0
        if lingering {
            finalClose()
            return
        }
        perform(machine.timeout())
        drive()
    }

    func shutdownRequested() {
        guard !closed else { return }
        perform(machine.shutdownRequested())
        drive()
    }

    func forceClose() {
        guard !closed else { return }
        exchange?.task?.cancel()
        finalClose()
    }

    // MARK: the work loop

    /// Writes what is queued and reads/parses what the machine allows, until nothing more can be done.
    private func drive() {
        if driving {
            needsDrive = true
            return
        }
        driving = true
        defer { driving = false }
        var rounds = 0
        repeat {
            needsDrive = false
            rounds += 1
            if writeReady, hasPendingOutput { flush() }
            if closed { return }
            if lingering {
                discardInput()
                continue
            }
            processInput()
            if closed { return }
            if reading, readReady {
                readFromSocket()
                if closed { return }
                processInput()
            }
        } while (needsDrive || (reading && readReady)) && !closed && rounds < 16
        if !closed, needsDrive || (reading && readReady) {
            // Fairness: other connections on this loop get a turn; continue right after them.
            loop.execute { [self] in drive() }
        }
    }

    private func readFromSocket() {
        let buffer = loop.readBuffer
        let result: IOResult<Int>
        do {
            result = try Syscall.receive(fd, into: buffer)
        } catch {
            perform(machine.ioFailed())
            return
        }
        var endOfInput = false
        switch result {
        case .wouldBlock:
            readReady = false
        case .processed(0):
            readReady = false
            endOfInput = true
            tls?.feedEndOfInput()
        case .processed(let count):
            if count < buffer.count { readReady = false }
            if let tls {
                tls.feedCiphertext(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            } else {
                parser.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            }
        }
        if tls != nil {
            if decryptAvailable() { endOfInput = true }
            if closed { return }
            // Handshake messages, alerts and session tickets go out at once.
            if writeReady, hasPendingOutput { flush() }
        }
        if endOfInput {
            sawEOF = true
            // Bytes already buffered are still parsed first: a final pipelined request is answered.
            processInput()
            if !closed { perform(machine.peerClosed()) }
        }
    }

    /// Moves every decrypted byte into the parser. Returns true when the peer closed the TLS session.
    private func decryptAvailable() -> Bool {
        guard let tls else { return false }
        let buffer = loop.readBuffer
        // Bounded: each round either yields bytes (at most what was fed) or stops.
        while true {
            do throws(TLSError) {
                switch try tls.readPlaintext(into: buffer) {
                case .bytes(let count):
                    parser.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                case .wantMore:
                    return false
                case .closed:
                    return true
                }
            } catch {
                // A fatal alert may be queued for the peer: send it, then give up on the connection.
                if writeReady { flush() }
                perform(machine.ioFailed())
                return false
            }
        }
    }

    /// Hands buffered bytes to the parser for as long as the machine wants parts.
    private func processInput() {
        do throws(HTTPParseError) {
            while !closed {
                switch machine.state {
                case .idle, .readingHead:
                    // Nothing buffered (the usual state after answering a request): no part can come out.
                    guard parser.bufferedByteCount > 0, let part = try parser.next() else {
                        if parser.bufferedByteCount > 0 { perform(machine.bytesArrived()) }
                        return
                    }
                    guard case .head(let head) = part else {
                        preconditionFailure("the parser produced a body part before a head")
                    }
                    startExchange(head)
                case .active(let state):
                    guard state.body == .reading || state.body == .awaitingDemand else { return }
                    guard let part = try parser.next() else {
                        launchIfStreaming()
                        return
                    }
                    switch part {
                    case .body(let bytes):
                        deliverBody(bytes)
                    case .end:
                        finishBody()
                    case .head:
                        preconditionFailure("the parser produced a head inside a message")
                    }
                case .closing, .closed:
                    return
                }
            }
        } catch {
            exchangeBodyFailed(HTTPError(error.status, error.message))
            perform(machine.parseFailed(error.status, message: error.message))
        }
    }

    // MARK: exchanges

    private func startExchange(_ head: consuming HTTPRequestHead) {
        let route = core.responder.route(head)
        exchangeNumber &+= 1
        var requestID: String? = nil
        if let header = core.configuration.requestIDHeader {
            if let given = head.fields[header], given.utf8.count <= 200, !given.isEmpty,
                given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            {
                requestID = given
            } else {
                requestID = context.nextRequestID()
            }
        }
        let bodyLimit = route.bodyLimit ?? core.configuration.limits.maxBodyBytes
        if let limit = route.bodyLimit { parser.setBodyLimit(limit) }
        var decoding = BodyDecoding.identity
        if let encoding = head.fields["Content-Encoding"] {
            let trimmed = encoding.lowercased().filter { $0 != " " && $0 != "\t" }
            switch trimmed {
            case "", "identity": break
            case "gzip", "x-gzip": decoding = .gzip(maxDecodedBytes: bodyLimit)
            default:
                let refused = Exchange(
                    number: exchangeNumber, head: head, route: route, requestID: requestID, decoding: .identity)
                refused.launched = true
                refused.body = .done
                exchange = refused
                _ = machine.headReceived(keepAlive: false, expectsContinue: false)
                respond(renderError(HTTPError(.unsupportedMediaType, "Content-Encoding \(encoding) is not supported.")))
                return
            }
        }
        let keepAlive = head.keepAlive
        exchange = Exchange(number: exchangeNumber, head: head, route: route, requestID: requestID, decoding: decoding)
        perform(machine.headReceived(keepAlive: keepAlive, expectsContinue: parser.expectsContinue))
    }

    private func deliverBody(_ bytes: [UInt8]) {
        guard let current = exchange else { return }
        switch current.body {
        case .collecting(var collected):
            current.body = .done  // release the array's reference before appending (no copy)
            if collected.isEmpty { collected = bytes } else { collected.append(contentsOf: bytes) }
            current.body = .collecting(collected)
            perform(machine.bodyReceived(bufferFull: false))
        case .stream(let stream):
            perform(machine.bodyReceived(bufferFull: stream.append(bytes)))
        case .done:
            break
        }
    }

    private func finishBody() {
        guard let current = exchange else { return }
        if case .stream(let stream) = current.body {
            stream.finish()
            current.body = .done
        }
        perform(machine.requestEnded())
        if let exchange, !exchange.launched {
            guard case .collecting(let bytes) = exchange.body else { return }
            launch(body: bytes)
        }
    }

    /// The parser needs more bytes and the body is not complete: start an async handler now with a
    /// streamed body. An immediate one keeps collecting; needing the whole body, it "starts reading" at
    /// once, which is when a `100 Continue` goes out (only now: the declared length passed the limit).
    private func launchIfStreaming() {
        guard let current = exchange, !current.launched, case .collecting(let early) = current.body else { return }
        guard current.route.handler.streamsBody else {
            if machineBodyState == .awaitingDemand { perform(machine.bodyDemanded()) }
            return
        }
        let number = current.number
        let stream = RequestBodyStream(awaitingDemand: machineBodyState == .awaitingDemand) {
            [loop, self] in
            loop.execute { [self] in self.bodyDemanded(number) }
        }
        if !early.isEmpty { _ = stream.append(early) }
        current.body = .stream(stream)
        launch(body: nil)
    }

    private var machineBodyState: Machine.BodyState? {
        if case .active(let state) = machine.state { return state.body }
        return nil
    }

    private func bodyDemanded(_ number: UInt64) {
        guard !closed, exchange?.number == number else { return }
        perform(machine.bodyDemanded())
        drive()
    }

    private func exchangeBodyFailed(_ error: HTTPError) {
        if case .stream(let stream) = exchange?.body { stream.fail(error) }
    }

    /// Runs the handler: inline for immediate handlers, as a task otherwise. `body` is the complete
    /// body when known; nil means it streams.
    private func launch(body: [UInt8]?) {
        guard let current = exchange else { return }
        current.launched = true
        let requestBody: RequestBody
        if let body {
            current.body = .done
            switch current.decoding {
            case .identity:
                requestBody = RequestBody(source: .bytes(body), decoding: .identity)
            case .gzip:
                if !current.route.handler.streamsBody {
                    // Immediate handlers get the decoded body in hand.
                    do {
                        requestBody = RequestBody(bytes: try Self.decodeWhole(body, current.decoding))
                    } catch {
                        respond(renderError(error))
                        return
                    }
                } else {
                    requestBody = RequestBody(source: .bytes(body), decoding: current.decoding)
                }
            }
        } else if case .stream(let stream) = current.body {
            requestBody = RequestBody(source: .stream(stream), decoding: current.decoding)
        } else {
            preconditionFailure("launching a handler without a body source")
        }
        let request = ServerRequest(
            head: current.head, pathParameters: current.route.pathParameters, remoteAddress: remoteAddress,
            body: requestBody, requestID: current.requestID)
        switch current.route.handler.kind {
        case .immediate(let handle):
            respond(Self.run(handle, request, core: core))
        case .async(let handle):
            current.task = startTask(handle, request, number: current.number)
        case .inlineFirst(let handle):
            do {
                switch try handle(request) {
                case .respond(let response): respond(response)
                case .continueAsync(let rest): current.task = startTask({ _ in try await rest() }, request, number: current.number)
                }
            } catch {
                respond(core.render(error, requestID: request.requestID))
            }
        }
    }

    /// Runs an async handler, then streams its response body if it has one.
    private func startTask(
        _ handle: @escaping @Sendable (ServerRequest) async throws -> ServerResponse, _ request: ServerRequest,
        number: UInt64
    ) -> Task<Void, Never> {
        let core = self.core
        let loop = self.loop
        return Task { [self] in
            var response: ServerResponse
            do {
                response = try await handle(request)
            } catch {
                response = core.render(error, requestID: request.requestID)
            }
            // Compression happens here, off the event loop.
            let coding = core.encode(&response, for: request.head)
            let ready = response
            loop.execute { [self] in self.handlerResponded(ready, coding, number) }
            guard case .stream(let produce) = response.body.storage, request.method != .head,
                !response.status.forbidsBody
            else { return }
            let encoder = coding.gzip ? StreamingGzipEncoder(level: core.configuration.compression.level) : nil
            let writer = ResponseBodyWriter { [self] bytes in
                let part = encoder.map { $0.encode(bytes) } ?? bytes
                if !part.isEmpty { try await self.sendStreamPart(part, number) }
            }
            let failed: Bool
            do {
                try await produce(writer)
                if let encoder { try await self.sendStreamPart(encoder.finish(), number) }
                failed = false
            } catch {
                failed = true
            }
            loop.execute { [self] in self.streamEnded(number, failed: failed) }
        }
    }

    /// An immediate handler's response, or the rendered error it threw.
    private static func run(
        _ handle: (ServerRequest) throws -> ServerResponse, _ request: ServerRequest, core: ServerCore
    ) -> ServerResponse {
        do {
            return try handle(request)
        } catch {
            return core.render(error, requestID: request.requestID)
        }
    }

    private static func decodeWhole(_ body: [UInt8], _ decoding: BodyDecoding) throws(HTTPError) -> [UInt8] {
        guard var decoder = decoding.makeDecoder() else { return body }
        var decoded = try decoder.decode(body)
        decoded.append(contentsOf: try decoder.finish())
        return decoded
    }

    private func renderError(_ error: any Error) -> ServerResponse {
        core.render(error, requestID: exchange?.requestID)
    }

    private func handlerResponded(_ response: ServerResponse, _ coding: ContentCodingDecision, _ number: UInt64) {
        guard !closed, exchange?.number == number else { return }
        respond(response, coding: coding)
        drive()
    }

    /// Writes a handler's response head (and body, unless it streams). `coding` is the compression
    /// already applied by an async handler's task; nil means decide (and compress) here.
    private func respond(_ response: ServerResponse, coding: ContentCodingDecision? = nil) {
        guard let current = exchange else { return }
        var response = response
        let coding = coding ?? core.encode(&response, for: current.head)
        var bodyBytes: [UInt8]? = nil
        switch response.body.storage {
        case .empty: bodyBytes = []
        case .bytes(let bytes): bodyBytes = bytes
        case .stream: break
        }
        let noBody = response.status.forbidsBody || current.isHead
        let gzip = coding.gzip
        let vary = coding.vary
        let framing: ResponseHeadEncoder.Framing
        var mustClose = Self.asksToClose(response.headers)
        if response.status.forbidsBody {
            framing = .none
        } else if let bytes = bodyBytes {
            framing = .contentLength(bytes.count)
        } else if current.isHead {
            framing = .none
        } else if current.head.version == .http1_0 {
            framing = .untilClose
            mustClose = true
        } else {
            framing = .chunked
        }
        let action = machine.responseStarted(complete: bodyBytes != nil || noBody, mustClose: mustClose)
        guard case .writeResponse(let closeAfter) = action else {
            perform(action)
            return
        }
        writeHead(
            status: response.status, fields: response.headers,
            extras: ResponseHeadEncoder.Extras(
                framing: framing, closeAfter: closeAfter,
                announceKeepAlive: !closeAfter && current.head.version == .http1_0,
                dateLine: loop.dateCache.current(), serverLine: core.serverLine,
                requestID: current.requestID.map { (core.configuration.requestIDHeader!, $0) },
                contentEncodingGzip: gzip, varyAcceptEncoding: vary),
            body: noBody ? nil : bodyBytes)
        afterWrite()
    }

    /// Encodes a head into the loop's scratch buffer (into an array of its size when it is larger) and
    /// writes it with `body`.
    private func writeHead(status: HTTPStatus, fields: HTTPFields, extras: ResponseHeadEncoder.Extras, body: [UInt8]?) {
        var writer = HeadWriter(loop.headBuffer)
        ResponseHeadEncoder.encode(status: status, fields: fields, extras: extras, into: &writer)
        guard writer.overflowed else {
            write(head: writer.bytes, body: body)
            return
        }
        var head: [UInt8] = []
        ResponseHeadEncoder.encode(status: status, fields: fields, extras: extras, into: &head)
        head.withUnsafeBytes { write(head: $0, body: body) }
    }

    /// `Connection: close` among the handler's fields (a quick length check first: this runs per response).
    private static func asksToClose(_ fields: HTTPFields) -> Bool {
        for field in fields where field.name.utf8.count == 10 && HTTPSyntax.equalsIgnoringCase(field.name, "Connection")
        {
            if field.value.split(separator: ",").contains(where: {
                HTTPSyntax.equalsIgnoringCase($0.trimmingCharacters(in: " \t"), "close")
            }) {
                return true
            }
        }
        return false
    }

    private func sendStreamPart(_ bytes: [UInt8], _ number: UInt64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { [self] in self.writeStreamPart(bytes, number, continuation) }
        }
    }

    private func writeStreamPart(
        _ bytes: [UInt8], _ number: UInt64, _ continuation: CheckedContinuation<Void, any Error>
    ) {
        guard !closed, let current = exchange, current.number == number, machine.phase == .writingResponse else {
            continuation.resume(throwing: HTTPError(.serviceUnavailable, "The connection is closed."))
            return
        }
        if current.head.version == .http1_0 {
            queue(bytes)
        } else {
            var sizeLine: [UInt8] = []
            sizeLine.reserveCapacity(12)
            ResponseHeadEncoder.appendHex(bytes.count, into: &sizeLine)
            sizeLine.append(0x0D)
            sizeLine.append(0x0A)
            queue(sizeLine)
            queue(bytes)
            queue(Self.crlf)
        }
        if writeReady { flush() }
        if closed {
            continuation.resume(throwing: HTTPError(.serviceUnavailable, "The connection is closed."))
            return
        }
        if pendingOutputByteCount <= Self.outputHighWatermark {
            continuation.resume()
        } else {
            current.producerWaiter = ProducerWaiter(continuation)
        }
        afterWrite()
    }

    private func streamEnded(_ number: UInt64, failed: Bool) {
        guard !closed, exchange?.number == number, machine.phase == .writingResponse else { return }
        if failed {
            // No last chunk: the client must not take a truncated body for a complete one.
            perform(machine.ioFailed())
            return
        }
        if exchange?.head.version != .http1_0 { queue(Self.lastChunk) }
        perform(machine.responseEnded())
        if writeReady { flush() }
        afterWrite()
        drive()
    }

    private static let crlf: [UInt8] = [0x0D, 0x0A]
    private static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    // MARK: writing

    /// Writes head and body straight from memory when nothing is queued, queuing what the socket did not take.
    private func write(head: UnsafeRawBufferPointer, body: [UInt8]?) {
        if tls != nil {
            queue(head)
            if let body { queue(body) }
            if writeReady { flush() }
            return
        }
        guard output.isEmpty, writeReady else {
            output.append(head, from: 0)
            if let body { output.append(body) }
            return
        }
        let body = body ?? []
        let outcome = body.withUnsafeBytes { bodyBytes in Self.send(fd, head, bodyBytes) }
        guard case .success(let result) = outcome else {
            perform(machine.ioFailed())
            return
        }
        let written: Int
        switch result {
        case .wouldBlock:
            written = 0
            writeReady = false
        case .processed(let count):
            written = count
        }
        if written < head.count {
            output.append(head, from: written)
            output.append(body)
        } else {
            output.append(body, from: written - head.count)
        }
        if !output.isEmpty { writeReady = false }
    }

    private static func send(_ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer)
        -> Result<IOResult<Int>, IOError>
    {
        var vectors = (
            iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count)
        )
        let count = second.isEmpty ? 1 : 2
        return withUnsafeMutableBytes(of: &vectors) { raw -> Result<IOResult<Int>, IOError> in
            let pointer = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
            do throws(IOError) {
                return .success(try Syscall.send(fd, UnsafeBufferPointer(start: pointer, count: count)))
            } catch {
                return .failure(error)
            }
        }
    }

    private func flush() {
        // After close the descriptor number may already belong to another connection: never write.
        guard !descriptorClosed else { return }
        if let tls {
            flushCiphertext(tls)
        } else {
            while !output.isEmpty {
                let written: Int
                do {
                    written = try output.write(to: fd)
                } catch {
                    perform(machine.ioFailed())
                    return
                }
                if written == 0 {
                    writeReady = false
                    break
                }
            }
        }
        afterWrite()
    }

    private func flushCiphertext(_ tls: TLSConnection) {
        var blocked = false
        var failed = false
        while tls.pendingCiphertextCount > 0, !blocked, !failed, !descriptorClosed {
            tls.withPendingCiphertext { (bytes: UnsafeRawBufferPointer) -> Int in
                do throws(IOError) {
                    switch try Syscall.send(fd, bytes) {
                    case .processed(let count): return count
                    case .wouldBlock:
                        blocked = true
                        return 0
                    }
                } catch {
                    failed = true
                    return 0
                }
            }
        }
        if blocked { writeReady = false }
        if failed { perform(machine.ioFailed()) }
    }

    /// Queues plaintext: as is for TCP, encrypted right away for TLS.
    private func queue(_ bytes: [UInt8]) {
        guard tls != nil else {
            output.append(bytes)
            return
        }
        bytes.withUnsafeBytes { queue($0) }
    }

    /// Queues a copy of `bytes` (plaintext), encrypted right away for TLS.
    private func queue(_ bytes: UnsafeRawBufferPointer) {
        guard let tls else {
            output.append(bytes, from: 0)
            return
        }
        do throws(TLSError) {
            try tls.writePlaintext(bytes)
        } catch {
            perform(machine.ioFailed())
        }
    }

    private var hasPendingOutput: Bool {
        !output.isEmpty || (tls.map { $0.pendingCiphertextCount > 0 } ?? false)
    }

    private var pendingOutputByteCount: Int {
        output.byteCount + (tls?.pendingCiphertextCount ?? 0)
    }

    /// Tells the machine how writing went and wakes a streamed response's producer once there is room.
    private func afterWrite() {
        guard !closed else { return }
        if let current = exchange, let waiter = current.producerWaiter,
            pendingOutputByteCount <= Self.outputHighWatermark
        {
            current.producerWaiter = nil
            waiter.continuation.resume()
        }
        if !hasPendingOutput {
            perform(machine.outputFlushed())
        } else if !writeReady {
            perform(machine.writeBlocked())
        }
    }

    // MARK: actions

    private func perform(_ action: Machine.Action) {
        switch action {
        case .none:
            break
        case .setTimeout(let timeout):
            setTimeout(timeout)
        case .read(let timeout):
            setTimeout(timeout)
            reading = true
            needsDrive = true
        case .stopReading(let timeout):
            setTimeout(timeout)
            reading = false
        case .startHandler(let readBody, let timeout):
            setTimeout(timeout)
            reading = readBody
        case .sendContinueAndRead(let timeout):
            setTimeout(timeout)
            reading = true
            queue(ResponseHeadEncoder.continueResponse)
            needsDrive = true
        case .writeResponse:
            preconditionFailure("writeResponse is handled where the response is")
        case .writeError(let status, let message):
            reading = false
            setTimeout(.writeStall)
            writeErrorResponse(core.errorRenderer(status, message, exchange?.requestID))
        case .nextRequest(let timeout):
            exchange = nil
            setTimeout(timeout)
            reading = true
            needsDrive = true
        case .close(let linger):
            close(linger: linger)
        }
    }

    /// An error the HTTP layer answers: always closes after, whatever the handler of a request would do.
    private func writeErrorResponse(_ response: ServerResponse) {
        let body = response.body.bytes ?? []
        writeHead(
            status: response.status, fields: response.headers,
            extras: ResponseHeadEncoder.Extras(
                framing: .contentLength(body.count), closeAfter: true, announceKeepAlive: false,
                dateLine: loop.dateCache.current(), serverLine: core.serverLine,
                requestID: exchange?.requestID.map { (core.configuration.requestIDHeader!, $0) }),
            body: exchange?.isHead == true ? nil : body)
        if !hasPendingOutput {
            perform(machine.outputFlushed())
        } else {
            perform(machine.writeBlocked())
        }
    }

    private func setTimeout(_ timeout: Machine.Timeout?) {
        guard let timeout else {
            deadline = 0
            return
        }
        deadline = loop.now &+ core.timeouts.value(timeout)
        if let scheduled = loop.scheduledDeadline(of: self), scheduled <= deadline { return }
        loop.scheduleTimer(self, at: deadline)
    }

    // MARK: closing

    private func close(linger: Bool) {
        guard !closed else { return }
        guard linger, !sawEOF else {
            finalClose()
            return
        }
        // Unread request bytes would make close() send a reset that can destroy the response in
        // flight: shut down our side, then read and drop what the client still sends, for a moment.
        sayGoodbyeOverTLS()
        Syscall.shutdownWrite(fd)
        lingering = true
        reading = true
        releaseExchange()
        deadline = loop.now &+ core.timeouts.linger
        loop.scheduleTimer(self, at: deadline)
        needsDrive = true
    }

    private func discardInput() {
        while readReady, !closed {
            let result: IOResult<Int>
            do {
                result = try Syscall.receive(fd, into: loop.readBuffer)
            } catch {
                finalClose()
                return
            }
            switch result {
            case .wouldBlock:
                readReady = false
            case .processed(0):
                finalClose()
            case .processed(let count):
                lingerDiscarded += count
                if count < loop.readBuffer.count { readReady = false }
                if lingerDiscarded > 1 << 20 { finalClose() }
            }
        }
    }

    private func releaseExchange() {
        guard let current = exchange else { return }
        if case .stream(let stream) = current.body {
            stream.fail(HTTPError(.badRequest, "The connection closed before the request body was complete."))
        }
        current.producerWaiter?.continuation.resume(
            throwing: HTTPError(.serviceUnavailable, "The connection is closed."))
        exchange = nil
        parser = HTTPRequestParser(limits: core.configuration.limits)
        output.removeAll()
    }

    /// Best effort: queue TLS close_notify and push it (and any alert) out without waiting.
    private func sayGoodbyeOverTLS() {
        guard let tls else { return }
        tls.shutdown()
        if tls.pendingCiphertextCount > 0 { flushCiphertext(tls) }
    }

    private func finalClose() {
        guard !closed else { return }
        closed = true
        if !lingering { sayGoodbyeOverTLS() }
        releaseExchange()
        output.removeAll()
        loop.cancelTimer(self)
        loop.deregister(fd)
        Syscall.close(fd)
        descriptorClosed = true
        context.removed(self)
        core.connectionClosed()
    }
}

extension ServerCore {
    /// Turns a handler's error into the response the error renderer makes of it.
    func render(_ error: any Error, requestID: String?) -> ServerResponse {
        guard let httpError = error as? HTTPError else {
            log(.error, "handler failed", ["error.type": "\(type(of: error))", "request.id": .string(requestID ?? "")])
            return errorRenderer(.internalServerError, "An internal error occurred.", requestID)
        }
        var response = errorRenderer(httpError.status, httpError.message, requestID)
        for field in httpError.headers { response.headers.set(field.name, field.value) }
        return response
    }
}
