/// libFuzzer target for the HTTP request and response parsers.
///
/// Fuzzing build (what .ci/fuzz-http-parser does):
///     swift build --product FuzzHTTPParser --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING
/// SwiftPM then compiles this file as a library and libFuzzer supplies `main`.
///
/// Normal build: without `-DFUZZING`, `Replay` (Replay.swift) is the program. It replays files and
/// directories given as arguments (e.g. Tests/Fuzz/corpus/http-parser) through the same checks, so a crash
/// artifact can be reproduced, or the corpus run as a regression test, without sanitizers.
///
/// Input layout: the first 4 bytes choose the parser limits, the body limit set after each head, the
/// request methods the response parser assumes and the sizes of the pieces the rest is fed in.
/// Checked for every input:
/// - feeding the bytes in pieces gives the same messages and the same error status as in one piece;
/// - parts come in order (head, body…, end), body pieces are never empty, a message body never exceeds
///   the body limit, and a finished message with one Content-Length has exactly that many bytes;
/// - a parsed head serialized and parsed again is equal;
/// - after an error the parser keeps failing with the same error and holds no bytes.
import HTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    checkParsers(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// Crashes (which libFuzzer records) with `message` unless `condition` holds.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant broken: \(message())") }
}

struct FuzzConfig {
    var limits = HTTPParserLimits()
    var bodyLimit: Int?
    var methods: [HTTPMethod] = []
    var pieces: [Int] = []

    init(_ header: ArraySlice<UInt8>) {
        let bytes = Array(header) + [UInt8](repeating: 0, count: max(0, 4 - header.count))
        switch bytes[0] & 0x03 {
        case 1:
            limits.maxRequestLineBytes = 40
            limits.maxFieldBytes = 120
            limits.maxFieldCount = 4
            limits.maxBodyBytes = 64
            limits.maxChunkLineBytes = 16
        case 2:
            limits.maxRequestLineBytes = 16
            limits.maxFieldBytes = 24
            limits.maxFieldCount = 1
            limits.maxBodyBytes = 1
            limits.maxChunkLineBytes = 4
        default:
            break
        }
        switch (bytes[0] >> 2) & 0x03 {
        case 1: bodyLimit = 0
        case 2: bodyLimit = Int(bytes[1])
        case 3: bodyLimit = 1 << 21
        default: bodyLimit = nil
        }
        let choices: [HTTPMethod] = [.get, .head, .connect, .post]
        methods = (0..<4).map { choices[Int(bytes[1] >> (2 * $0)) & 0x03] }
        pieces = bytes[0] & 0x80 != 0 ? [1] : [Int(bytes[2] % 17) + 1, Int(bytes[3] % 31) + 1, Int(bytes[3] >> 5) + 1]
    }

    /// Limits large enough for any head the parser accepted, to parse its serialized form again.
    static var roomy: HTTPParserLimits {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = 1 << 24
        limits.maxFieldBytes = 1 << 24
        limits.maxFieldCount = 1 << 20
        return limits
    }
}

struct FuzzMessage<Head: Equatable>: Equatable {
    var head: Head
    var body: [UInt8] = []
    var trailers: HTTPFields?
}

struct FuzzOutcome<Head: Equatable>: Equatable {
    var messages: [FuzzMessage<Head>] = []
    var errorStatus: Int?
}

func checkParsers(_ input: [UInt8]) {
    let split = min(4, input.count)
    let config = FuzzConfig(input[..<split])
    let data = input[split...]

    let whole = parseRequests(data, pieces: [], config: config)
    let pieces = parseRequests(data, pieces: config.pieces, config: config)
    require(whole == pieces, "request parse depends on how the bytes were split: \(whole) vs \(pieces)")

    let wholeResponses = parseResponses(data, pieces: [], config: config)
    let pieceResponses = parseResponses(data, pieces: config.pieces, config: config)
    require(wholeResponses == pieceResponses, "response parse depends on how the bytes were split")
}

/// Feeds `data` in pieces of the given sizes (cycled; empty means one piece), draining after each.
func feed(_ data: ArraySlice<UInt8>, pieces: [Int], append: ([UInt8]) -> Void, drain: () -> Bool) {
    var offset = data.startIndex
    var index = 0
    while drain() && offset < data.endIndex {
        let size = pieces.isEmpty ? data.count : pieces[index % pieces.count]
        index += 1
        let end = min(data.endIndex, offset + size)
        append(Array(data[offset..<end]))
        offset = end
    }
}

func parseRequests(_ data: ArraySlice<UInt8>, pieces: [Int], config: FuzzConfig) -> FuzzOutcome<HTTPRequestHead> {
    var parser = HTTPRequestParser(limits: config.limits)
    var outcome = FuzzOutcome<HTTPRequestHead>()
    var failure: HTTPParseError?
    var bodyLimit = config.limits.maxBodyBytes
    feed(
        data, pieces: pieces, append: { parser.append($0) },
        drain: {
            do throws(HTTPParseError) {
                while let part = try parser.next() {
                    switch part {
                    case .head(let head):
                        require(outcome.messages.last.map { $0.trailers != nil } ?? true, "head inside a message")
                        outcome.messages.append(FuzzMessage(head: head))
                        bodyLimit = config.bodyLimit ?? config.limits.maxBodyBytes
                        if let limit = config.bodyLimit { parser.setBodyLimit(limit) }
                        checkRequestHead(head)
                    case .body(let bytes):
                        require(outcome.messages.last.map { $0.trailers == nil } ?? false, "body outside a message")
                        require(!bytes.isEmpty, "empty body part")
                        outcome.messages[outcome.messages.count - 1].body += bytes
                        require(
                            outcome.messages[outcome.messages.count - 1].body.count <= bodyLimit, "body over the limit")
                    case .end(let trailers):
                        require(outcome.messages.last.map { $0.trailers == nil } ?? false, "end outside a message")
                        outcome.messages[outcome.messages.count - 1].trailers = trailers
                        checkDeclaredLength(outcome.messages[outcome.messages.count - 1])
                        require(parser.isBetweenMessages == (parser.bufferedByteCount == 0), "isBetweenMessages")
                    }
                }
                return true
            } catch {
                failure = error
                return false
            }
        })
    if let failure {
        outcome.errorStatus = failure.status.code
        require([400, 413, 414, 417, 431, 501, 505].contains(failure.status.code), "unexpected status \(failure)")
        require(parser.bufferedByteCount == 0, "a failed parser holds bytes")
        parser.append(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        do {
            _ = try parser.next()
            require(false, "parser recovered after \(failure)")
        } catch {
            require(error == failure, "a failed parser changed its error")
        }
    }
    return outcome
}

func parseResponses(_ data: ArraySlice<UInt8>, pieces: [Int], config: FuzzConfig) -> FuzzOutcome<HTTPResponseHead> {
    var parser = HTTPResponseParser(limits: config.limits)
    for method in config.methods { parser.expectResponse(to: method) }
    var outcome = FuzzOutcome<HTTPResponseHead>()
    var failure: HTTPParseError?
    let bodyLimit = config.bodyLimit ?? Int.max
    func collect(_ part: HTTPResponsePart) {
        switch part {
        case .head(let head):
            require(outcome.messages.last.map { $0.trailers != nil } ?? true, "head inside a response")
            let method = outcome.messages.count < config.methods.count ? config.methods[outcome.messages.count] : .get
            outcome.messages.append(FuzzMessage(head: head))
            if let limit = config.bodyLimit { parser.setBodyLimit(limit) }
            checkResponseHead(head, method: method)
        case .body(let bytes):
            require(outcome.messages.last.map { $0.trailers == nil } ?? false, "body outside a response")
            require(!bytes.isEmpty, "empty body part")
            outcome.messages[outcome.messages.count - 1].body += bytes
            require(outcome.messages[outcome.messages.count - 1].body.count <= bodyLimit, "body over the limit")
        case .end(let trailers):
            require(outcome.messages.last.map { $0.trailers == nil } ?? false, "end outside a response")
            outcome.messages[outcome.messages.count - 1].trailers = trailers
        }
    }
    feed(
        data, pieces: pieces, append: { parser.append($0) },
        drain: {
            do throws(HTTPParseError) {
                while let part = try parser.next() { collect(part) }
                return true
            } catch {
                failure = error
                return false
            }
        })
    if failure == nil {
        do {
            while let part = try parser.finish() { collect(part) }
            require(try parser.finish() == nil, "finish() after its nil returned a part")
        } catch {
            failure = error
        }
    }
    if let failure {
        outcome.errorStatus = failure.status.code
        require([400, 413, 431, 505].contains(failure.status.code), "unexpected response status \(failure)")
        do {
            _ = try parser.next()
            require(false, "response parser recovered after \(failure)")
        } catch {
            require(error == failure, "a failed response parser changed its error")
        }
    }
    return outcome
}

/// A request head the parser returned is consistent and survives a serialize/parse round trip.
func checkRequestHead(_ head: HTTPRequestHead) {
    let target = RequestTarget(head.target)
    switch target.form {
    case .origin: require(head.path.hasPrefix("/"), "origin-form path without /")
    case .absolute: require(target.authority?.isEmpty == false, "absolute-form without a host")
    case .authority: require(head.method == .connect, "authority-form without CONNECT")
    case .asterisk: require(head.method == .options, "asterisk-form without OPTIONS")
    }
    _ = head.keepAlive
    _ = head.query
    for field in head.fields { require(HTTPSerializer.isValid(field), "parsed field is not writable: \(field)") }

    var bytes: [UInt8] = []
    HTTPSerializer.write(head, into: &bytes)
    var parser = HTTPRequestParser(limits: FuzzConfig.roomy)
    parser.append(bytes)
    do {
        let again = try parser.next()
        require(again == .head(head), "request head changed in a round trip: \(head) vs \(String(describing: again))")
    } catch {
        require(false, "serialized request head does not parse: \(error)")
    }
}

func checkResponseHead(_ head: HTTPResponseHead, method: HTTPMethod) {
    require((100...999).contains(head.status.code), "status code out of range")
    var bytes: [UInt8] = []
    HTTPSerializer.write(head, into: &bytes)
    var parser = HTTPResponseParser(limits: FuzzConfig.roomy)
    parser.expectResponse(to: method)
    parser.append(bytes)
    do {
        let again = try parser.next()
        require(again == .head(head), "response head changed in a round trip: \(head) vs \(String(describing: again))")
    } catch {
        require(false, "serialized response head does not parse: \(error)")
    }
}

/// A finished request with a single Content-Length field carried exactly that many bytes.
func checkDeclaredLength(_ message: FuzzMessage<HTTPRequestHead>) {
    let lengths = message.head.fields.values("Content-Length")
    guard lengths.count == 1, let length = Int(lengths[0]) else { return }
    require(message.body.count == length, "body of \(message.body.count) bytes for Content-Length \(length)")
}
