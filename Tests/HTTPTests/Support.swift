import HTTP

/// A request or response reassembled from parser parts, so different byte splits can be compared.
struct Message<Head: Hashable & Sendable>: Hashable, Sendable {
    var head: Head
    var body: [UInt8] = []
    var trailers: HTTPFields?
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Feeds `input` in pieces of the given sizes (the rest in one piece), draining `next()` after each.
///
/// Throws the first parse error; returns the messages completed so far (the last may be incomplete).
func parseRequests(
    _ input: [UInt8], pieces: [Int] = [], limits: HTTPParserLimits = HTTPParserLimits()
) throws(HTTPParseError) -> [Message<HTTPRequestHead>] {
    var parser = HTTPRequestParser(limits: limits)
    var messages: [Message<HTTPRequestHead>] = []
    var offset = 0
    var pieceIndex = 0
    repeat {
        let size = pieceIndex < pieces.count ? pieces[pieceIndex] : input.count - offset
        pieceIndex += 1
        let end = min(input.count, offset + size)
        parser.append(Array(input[offset..<end]))
        offset = end
        while let part = try parser.next() {
            switch part {
            case .head(let head): messages.append(Message(head: head))
            case .body(let body): messages[messages.count - 1].body += body
            case .end(let trailers): messages[messages.count - 1].trailers = trailers
            }
        }
    } while offset < input.count
    return messages
}

/// Feeds `input` one byte at a time.
func parseRequestsBytewise(
    _ input: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()
) throws(HTTPParseError) -> [Message<HTTPRequestHead>] {
    try parseRequests(input, pieces: Array(repeating: 1, count: input.count), limits: limits)
}

/// Parses responses to `methods` (in order), then signals end of input with `finish()` when `close` is set.
func parseResponses(
    _ input: [UInt8], methods: [HTTPMethod] = [], pieces: [Int] = [], close: Bool = false
) throws(HTTPParseError) -> [Message<HTTPResponseHead>] {
    var parser = HTTPResponseParser()
    for method in methods { parser.expectResponse(to: method) }
    var messages: [Message<HTTPResponseHead>] = []
    func collect(_ part: HTTPResponsePart) {
        switch part {
        case .head(let head): messages.append(Message(head: head))
        case .body(let body): messages[messages.count - 1].body += body
        case .end(let trailers): messages[messages.count - 1].trailers = trailers
        }
    }
    var offset = 0
    var pieceIndex = 0
    repeat {
        let size = pieceIndex < pieces.count ? pieces[pieceIndex] : input.count - offset
        pieceIndex += 1
        let end = min(input.count, offset + size)
        parser.append(Array(input[offset..<end]))
        offset = end
        while let part = try parser.next() { collect(part) }
    } while offset < input.count
    if close {
        while let part = try parser.finish() { collect(part) }
    }
    return messages
}

/// The error `body` throws, or nil.
func parseError<T>(_ body: () throws(HTTPParseError) -> T) -> HTTPParseError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
