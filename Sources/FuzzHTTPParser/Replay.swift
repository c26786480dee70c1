// The program of a normal (unsanitized) build: libFuzzer supplies `main` when built with -DFUZZING.
// This lives in its own file because a module of one file is compiled as a script, where `@main` is
// not allowed, while the fuzzing build compiles as a library, where top-level code is not allowed
// even inside an inactive `#if`.
#if !FUZZING
    import FoundationEssentials

    /// Replays files, and every file in directories, given as arguments through `checkParsers`.
    @main
    struct Replay {
        static func main() {
            var replayed = 0
            var missing: [String] = []
            for argument in CommandLine.arguments.dropFirst() {
                var isDirectory = false
                guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                    missing.append(argument)
                    continue
                }
                let names = isDirectory ? (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? [] : [""]
                for name in names.sorted() {
                    let path = name.isEmpty ? argument : argument + "/" + name
                    guard let contents = FileManager.default.contents(atPath: path) else { continue }
                    checkParsers(Array(contents))
                    replayed += 1
                }
            }
            print("replayed \(replayed) inputs")
            precondition(missing.isEmpty, "no such file: \(missing.joined(separator: ", "))")
        }
    }
#endif
