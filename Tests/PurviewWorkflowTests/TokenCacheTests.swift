import Synchronization
import Testing

@testable import PurviewWorkflow

/// A token endpoint double: counts fetches, answers after a short delay, can be told to fail.
final class CountingFetcher: TokenFetcher {
    let calls = Atomic<Int>(0)
    let failing = Atomic<Bool>(false)
    let lifetime: Duration

    init(lifetime: Duration = .seconds(3600)) { self.lifetime = lifetime }

    func fetchToken() async throws(TokenError) -> AccessToken {
        let number = calls.add(1, ordering: .relaxed).newValue
        try? await Task.sleep(for: .milliseconds(20))
        if failing.load(ordering: .relaxed) { throw TokenError(code: "invalid_client", message: "AADSTS7000215", status: 401) }
        return AccessToken(value: "token-\(number)", lifetime: lifetime)
    }
}

@Suite struct TokenCacheTests {
    @Test func thousandConcurrentCallersCauseExactlyOneFetch() async throws {
        let fetcher = CountingFetcher()
        let cache = TokenCache(fetcher: fetcher, clock: ContinuousClock())
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<1000 { group.addTask { try await cache.token() } }
            var all: [String] = []
            for try await token in group { all.append(token) }
            return all
        }
        #expect(tokens.count == 1000)
        #expect(Set(tokens) == ["token-1"])
        #expect(fetcher.calls.load(ordering: .relaxed) == 1)
        #expect(cache.fetchCount == 1)
    }

    @Test func failureReachesEveryWaiterWithTheAADCode() async {
        let fetcher = CountingFetcher()
        fetcher.failing.store(true, ordering: .relaxed)
        let cache = TokenCache(fetcher: fetcher, clock: ContinuousClock())
        let errors = await withTaskGroup(of: TokenError?.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    do throws(TokenError) {
                        _ = try await cache.token()
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            var all: [TokenError?] = []
            for await error in group { all.append(error) }
            return all
        }
        #expect(errors.count == 50)
        #expect(errors.allSatisfy { $0?.code == "invalid_client" })
        #expect(fetcher.calls.load(ordering: .relaxed) == 1)
    }

    @Test func invalidatedTokenIsReplaced() async throws {
        let fetcher = CountingFetcher()
        let cache = TokenCache(fetcher: fetcher, clock: ContinuousClock())
        let first = try await cache.token()
        #expect(try await cache.token() == first)
        cache.invalidate(first)
        let second = try await cache.token()
        #expect(second != first)
        #expect(fetcher.calls.load(ordering: .relaxed) == 2)
    }
}
