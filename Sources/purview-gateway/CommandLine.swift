import Foundation

/// Flags of one subcommand: `--name value` or `--name=value`, and bare `--switch`.
struct ParsedFlags {
    var values: [String: String] = [:]
    var switches: Set<String> = []
    var positional: [String] = []

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// `valued` are flags that take a value; `boolean` flags take none.
    static func parse(_ arguments: [String], valued: Set<String>, boolean: Set<String> = []) throws -> ParsedFlags {
        var parsed = ParsedFlags()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                parsed.positional.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if boolean.contains(name) {
                guard inline == nil else { throw Problem(description: "--\(name) takes no value") }
                parsed.switches.insert(name)
            } else if valued.contains(name) {
                if let inline {
                    parsed.values[name] = inline
                } else {
                    guard index < arguments.count else { throw Problem(description: "--\(name) needs a value") }
                    parsed.values[name] = arguments[index]
                    index += 1
                }
            } else {
                throw Problem(description: "unknown option --\(name)")
            }
        }
        return parsed
    }
}

/// Writes one line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes text to standard output and flushes (banners must appear before the process blocks).
func printOut(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
