import Foundation

/// `purview-gateway <command>`: the gateway, the Purview emulator, and their tools.
let usage = """
    purview-gateway: internal endpoints in front of Microsoft Purview's Workflow API, with a built-in emulator.

    Usage:
      purview-gateway serve [options]      run the gateway (no PURVIEW_ENDPOINT: with the built-in emulator)
      purview-gateway emulator [options]   run the Purview Workflow emulator on its own
      purview-gateway backup FILE          copy the SQLite store to FILE while the gateway serves
      purview-gateway import FILE --url URL --key KEY [--kind KIND] [--wait]
                                           upload a CSV/NDJSON batch of requests and follow it
      purview-gateway version              print the version

    Run `purview-gateway <command> --help` for a command's options and environment.
    """

let version = "0.1.0"

let arguments = Array(CommandLine.arguments.dropFirst())
let code: Int32
switch arguments.first {
case "serve":
    code = await ServeCommand.run(arguments: Array(arguments.dropFirst()))
case "backup":
    code = BackupCommand.run(arguments: Array(arguments.dropFirst()))
case "emulator":
    code = await EmulatorCommand.run(arguments: Array(arguments.dropFirst()))
case "import":
    code = await ImportCommand.run(arguments: Array(arguments.dropFirst()))
case "version", "--version":
    printOut("purview-gateway \(version)")
    code = 0
case "help", "--help", "-h", nil:
    printOut(usage)
    code = arguments.isEmpty ? 2 : 0
default:
    printError("purview-gateway: unknown command '\(arguments[0])'\n\n\(usage)")
    code = 2
}
exit(code)
