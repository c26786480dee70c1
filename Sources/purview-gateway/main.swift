// Entry point: the CLI is wired in later issues.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "emulator" {
    await EmulatorCommand.main(arguments: Array(CommandLine.arguments.dropFirst(2)))
}
print("purview-gateway")
