public import HTTP

/// Code that answers a request.
///
/// Most handlers are `async` and run on Swift concurrency's executor. A handler that answers at once
/// from memory (health checks, static documents) can be `immediate`: the event loop calls it inline
/// with the whole body already read, saving a thread hop; it must never block or wait.
public struct HTTPHandler: Sendable {
    enum Kind: Sendable {
        case async(@Sendable (ServerRequest) async throws -> ServerResponse)
        case immediate(@Sendable (ServerRequest) throws -> ServerResponse)
        case inlineFirst(@Sendable (ServerRequest) throws -> InlineOutcome)
    }

    /// What a handler that starts inline decided: its answer, or the async work that will produce it.
    public enum InlineOutcome: Sendable {
        case respond(ServerResponse)
        case continueAsync(@Sendable () async throws -> ServerResponse)
    }

    let kind: Kind

    public init(_ handle: @escaping @Sendable (ServerRequest) async throws -> ServerResponse) {
        kind = .async(handle)
    }

    /// A handler the event loop runs inline. `request.body.bufferedBytes` holds the whole body.
    public static func immediate(_ handle: @escaping @Sendable (ServerRequest) throws -> ServerResponse) -> HTTPHandler
    {
        HTTPHandler(kind: .immediate(handle))
    }

    /// A handler the event loop starts inline (like `immediate`, with the whole body in hand) that either
    /// answers at once or hands the rest of its work to a task: for routes whose common case is answered
    /// from memory but whose other cases wait for I/O. The inline part must never block or wait.
    public static func inlineFirst(_ handle: @escaping @Sendable (ServerRequest) throws -> InlineOutcome) -> HTTPHandler {
        HTTPHandler(kind: .inlineFirst(handle))
    }

    private init(kind: Kind) { self.kind = kind }

    /// Whether the handler starts before its body is complete and reads it as a stream (async handlers);
    /// the others get the whole body in hand.
    var streamsBody: Bool {
        if case .async = kind { return true }
        return false
    }

    /// Runs the handler (either kind) from async code, for tests and for handlers wrapping handlers.
    public func callAsFunction(_ request: ServerRequest) async throws -> ServerResponse {
        switch kind {
        case .async(let handle): return try await handle(request)
        case .immediate(let handle): return try handle(request)
        case .inlineFirst(let handle):
            switch try handle(request) {
            case .respond(let response): return response
            case .continueAsync(let rest): return try await rest()
            }
        }
    }
}

/// The decision made from a request head alone: who answers, with which path parameters, and how
/// large a body it accepts.
public struct HTTPRoute: Sendable {
    public var handler: HTTPHandler
    public var pathParameters: [String: String]
    /// Overrides the server's body limit for this request (413 above it), nil for the default.
    public var bodyLimit: Int?

    public init(handler: HTTPHandler, pathParameters: [String: String] = [:], bodyLimit: Int? = nil) {
        self.handler = handler
        self.pathParameters = pathParameters
        self.bodyLimit = bodyLimit
    }
}

/// Chooses the handler for each request.
public protocol HTTPResponder: Sendable {
    /// Called on an event-loop thread for every request head, before its body is read: must be quick
    /// and must never block.
    func route(_ head: HTTPRequestHead) -> HTTPRoute
}

extension HTTPHandler: HTTPResponder {
    /// One handler for every request.
    public func route(_ head: HTTPRequestHead) -> HTTPRoute { HTTPRoute(handler: self) }
}

/// Builds a routing table: methods and path patterns with `{name}` parameters, e.g. `/v1/requests/{id}`.
///
/// Mutable while building, then `freeze()` gives the `Sendable` responder the server uses. An unknown
/// path answers 404; a known path with another method answers 405 with `Allow`. HEAD falls back to the
/// GET handler (the server sends no body for HEAD).
public final class Router {
    private var root = Node()

    public init() {}

    /// Adds a route. A later route for the same method and pattern replaces the earlier one.
    /// `bodyLimit` raises or lowers the server's default body limit for this route.
    public func add(_ method: HTTPMethod, _ pattern: String, bodyLimit: Int? = nil, _ handler: HTTPHandler) {
        precondition(pattern.hasPrefix("/"), "a route pattern starts with '/': \(pattern)")
        var node = root
        let segments = Self.segments(of: pattern)
        root = Self.inserting(
            into: &node, segments: segments[...], method: method,
            endpoint: Endpoint(handler: handler, bodyLimit: bodyLimit, parameterNames: []))
    }

    /// Adds an async handler for `method` and `pattern`.
    public func add(
        _ method: HTTPMethod, _ pattern: String, bodyLimit: Int? = nil,
        handler: @escaping @Sendable (ServerRequest) async throws -> ServerResponse
    ) {
        add(method, pattern, bodyLimit: bodyLimit, HTTPHandler(handler))
    }

    /// The routing table as an immutable responder.
    public func freeze() -> Responder { Responder(root: RouteNode(root)) }

    /// A frozen routing table.
    public struct Responder: HTTPResponder {
        fileprivate let root: RouteNode

        public func route(_ head: HTTPRequestHead) -> HTTPRoute {
            // Matched over the target's bytes: segments are compared byte for byte (request targets are ASCII).
            var target = head.target
            guard target.utf8.first == UInt8(ascii: "/") else {
                // Absolute-form ("http://host/a") or "*": route on the path part.
                var path = head.path
                return path.withUTF8 { route(head.method, path: $0) }
            }
            return target.withUTF8 { bytes in
                let pathEnd = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.count
                return route(head.method, path: UnsafeBufferPointer(rebasing: bytes[..<pathEnd]))
            }
        }

        private func route(_ method: HTTPMethod, path: UnsafeBufferPointer<UInt8>) -> HTTPRoute {
            guard path.first == UInt8(ascii: "/") else { return HTTPRoute(handler: Router.notFound) }
            var values: [Range<Int>] = []
            guard let node = Self.match(root, path, from: 1, &values) else {
                return HTTPRoute(handler: Router.notFound)
            }
            guard let endpoint = node.endpoint(for: method) ?? (method == .head ? node.endpoint(for: .get) : nil) else {
                return HTTPRoute(handler: Router.methodNotAllowed(node.allowHeader))
            }
            guard !endpoint.parameterNames.isEmpty else {
                return HTTPRoute(handler: endpoint.handler, bodyLimit: endpoint.bodyLimit)
            }
            var parameters: [String: String] = [:]
            for (name, range) in zip(endpoint.parameterNames, values) {
                parameters[name] = Router.percentDecoded(UnsafeBufferPointer(rebasing: path[range]))
            }
            return HTTPRoute(handler: endpoint.handler, pathParameters: parameters, bodyLimit: endpoint.bodyLimit)
        }

        /// The node whose pattern matches `path` from `start` (just after a "/"), literal segments before
        /// parameters, backtracking when a literal leads nowhere. Only nodes with endpoints match.
        private static func match(
            _ node: RouteNode, _ path: UnsafeBufferPointer<UInt8>, from start: Int, _ values: inout [Range<Int>]
        ) -> RouteNode? {
            var end = start
            while end < path.count && path[end] != UInt8(ascii: "/") { end += 1 }
            let isLast = end == path.count
            if let literal = node.literal(UnsafeBufferPointer(rebasing: path[start..<end])) {
                if !isLast {
                    if let found = match(literal, path, from: end + 1, &values) { return found }
                } else if !literal.endpoints.isEmpty {
                    return literal
                }
            }
            guard let parameter = node.parameter, end > start else { return nil }
            values.append(start..<end)
            if !isLast {
                if let found = match(parameter, path, from: end + 1, &values) { return found }
            } else if !parameter.endpoints.isEmpty {
                return parameter
            }
            values.removeLast()
            return nil
        }
    }

    fileprivate struct Endpoint: Sendable {
        var handler: HTTPHandler
        var bodyLimit: Int?
        var parameterNames: [String]
    }

    /// The builder's tree as requests walk it: a node's few children and methods sit in small arrays
    /// searched in order, which beats hashing the segment and the method on every request.
    fileprivate final class RouteNode: Sendable {
        let literals: [(segment: [UInt8], node: RouteNode)]
        let parameter: RouteNode?
        let endpoints: [(method: HTTPMethod, endpoint: Endpoint)]
        let allowHeader: String

        init(_ node: Node) {
            literals = node.literals.map { (Array($0.key.utf8), RouteNode($0.value)) }
            parameter = node.parameter.map(RouteNode.init)
            endpoints = node.endpoints.map { ($0.key, $0.value) }
            allowHeader = node.allowHeader
        }

        func literal(_ segment: UnsafeBufferPointer<UInt8>) -> RouteNode? {
            for literal in literals where literal.segment.count == segment.count {
                if literal.segment.withUnsafeBufferPointer({ $0.elementsEqual(segment) }) { return literal.node }
            }
            return nil
        }

        func endpoint(for method: HTTPMethod) -> Endpoint? {
            for entry in endpoints where entry.method == method { return entry.endpoint }
            return nil
        }
    }

    fileprivate struct Node: Sendable {
        var literals: [Substring: Node] = [:]
        /// Stored in an array so the recursive value type has a size.
        var parameterChild: [Node] = []
        var endpoints: [HTTPMethod: Endpoint] = [:]
        var allowHeader = ""

        var parameter: Node? { parameterChild.first }
    }

    private enum Segment {
        case literal(Substring)
        case parameter(String)
    }

    private static func segments(of pattern: String) -> [Segment] {
        pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { segment in
            if segment.hasPrefix("{"), segment.hasSuffix("}"), segment.count > 2 {
                return .parameter(String(segment.dropFirst().dropLast()))
            }
            return .literal(Substring(String(segment)))
        }
    }

    private static func inserting(
        into node: inout Node, segments: ArraySlice<Segment>, method: HTTPMethod, endpoint: Endpoint
    ) -> Node {
        var endpoint = endpoint
        guard let first = segments.first else {
            node.endpoints[method] = endpoint
            var methods = node.endpoints.keys.map(\.rawValue)
            if node.endpoints[.get] != nil, node.endpoints[.head] == nil { methods.append("HEAD") }
            node.allowHeader = methods.sorted().joined(separator: ", ")
            return node
        }
        let rest = segments.dropFirst()
        switch first {
        case .literal(let text):
            var child = node.literals[text] ?? Node()
            node.literals[text] = inserting(into: &child, segments: rest, method: method, endpoint: endpoint)
        case .parameter(let name):
            endpoint.parameterNames.append(name)
            var child = node.parameterChild.first ?? Node()
            node.parameterChild = [inserting(into: &child, segments: rest, method: method, endpoint: endpoint)]
        }
        return node
    }

    static let notFound = HTTPHandler.immediate { _ in
        throw HTTPError(.notFound, "No resource at this path.")
    }

    static func methodNotAllowed(_ allow: String) -> HTTPHandler {
        HTTPHandler.immediate { request in
            throw HTTPError(
                .methodNotAllowed, "\(request.method) is not allowed here.", headers: HTTPFields([("Allow", allow)]))
        }
    }

    /// Decodes `%XX` escapes; malformed escapes are kept as they are.
    static func percentDecoded(_ text: Substring) -> String {
        var text = String(text)
        return text.withUTF8 { percentDecoded($0) }
    }

    static func percentDecoded(_ text: UnsafeBufferPointer<UInt8>) -> String {
        guard text.contains(UInt8(ascii: "%")) else { return String(decoding: text, as: UTF8.self) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: "%"), index + 2 < text.count, let high = hexValue(text[index + 1]),
                let low = hexValue(text[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
