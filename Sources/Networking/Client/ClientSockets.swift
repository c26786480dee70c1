import CLinuxShim
import Dispatch
import Glibc

/// Name resolution off the event loops: `getaddrinfo` blocks, so it runs on a Dispatch queue and the
/// answer is handed back to the caller's loop.
enum DNSResolver {
    struct Failure: Error, Sendable {
        let message: String
    }

    private static let queue = DispatchQueue(label: "purview.http-client.dns", attributes: .concurrent)

    /// Resolves `host` (a name, not an IP literal) to TCP addresses in the order the system prefers,
    /// calling `completion` on a Dispatch thread.
    static func resolve(
        host: String, port: Int, completion: @escaping @Sendable (Result<[SocketAddress], Failure>) -> Void
    ) {
        queue.async { completion(resolveBlocking(host: host, port: port)) }
    }

    static func resolveBlocking(host: String, port: Int) -> Result<[SocketAddress], Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == 0 ? "no addresses" : String(cString: gai_strerror(status))
            return .failure(Failure(message: "cannot resolve \(host): \(reason)"))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            let family = entry.pointee.ai_family
            guard family == AF_INET || family == AF_INET6, let source = entry.pointee.ai_addr else { continue }
            let length = Int(entry.pointee.ai_addrlen)
            guard length <= MemoryLayout<sockaddr_in6>.size else { continue }
            var address = SocketAddress()
            address.withMutableSockaddr { target, _ in
                UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: length)
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else { return .failure(Failure(message: "cannot resolve \(host): no addresses")) }
        return .success(addresses)
    }
}

/// Socket calls the client needs beyond `Syscall`: sends that never raise SIGPIPE, and SO_ERROR.
enum ClientSocket {
    /// `send(2)` with MSG_NOSIGNAL: a peer that went away is an EPIPE error, not a process-killing signal.
    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(IOError) -> IOResult<Int> {
        while true {
            let result = Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            if result >= 0 { return .processed(result) }
            let code = cshim_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw IOError(errnoCode: code, call: "send")
        }
    }

    /// Gathered write of `buffers` (`writev` semantics through `sendmsg`, for MSG_NOSIGNAL).
    static func send(_ fd: Int32, _ buffers: [UnsafeRawBufferPointer]) throws(IOError) -> IOResult<Int> {
        var vectors = buffers.map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        while true {
            let result = vectors.withUnsafeMutableBufferPointer { pointer -> Int in
                var message = msghdr()
                message.msg_iov = pointer.baseAddress
                message.msg_iovlen = pointer.count
                return Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
            if result >= 0 { return .processed(result) }
            let code = cshim_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw IOError(errnoCode: code, call: "sendmsg")
        }
    }

    /// A non-blocking `connect(2)`: `.wouldBlock` means EINPROGRESS (wait for writability, then `pendingError`).
    static func connect(_ fd: Int32, to address: SocketAddress) throws(IOError) -> IOResult<Void> {
        let code = address.withSockaddr { pointer, length -> Int32 in
            Glibc.connect(fd, pointer, length) == 0 ? 0 : cshim_errno()
        }
        switch code {
        case 0: return .processed(())
        // An interrupted connect carries on in the background, like one in progress.
        case EINPROGRESS, EAGAIN, EINTR: return .wouldBlock
        default: throw IOError(errnoCode: code, call: "connect")
        }
    }

    /// The outcome of a non-blocking connect once the socket became writable (0 means connected).
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return cshim_errno() }
        return value
    }
}
