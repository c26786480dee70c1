import Crypto
import FoundationEssentials
import GatewayServer
import Glibc
import Networking
import Observability
import PurviewEmulator

/// `purview-gateway emulator ...`: runs the Purview Workflow emulator (API and token endpoint) until
/// SIGTERM or SIGINT.
enum EmulatorCommand {
    static let usage = """
        usage: purview-gateway emulator [--listen HOST:PORT] [--config FILE] [--state FILE]
                                        [--tls-cert FILE --tls-key FILE | --self-signed DIR]

          --listen HOST:PORT   address to listen on (default 127.0.0.1:0, a free port)
          --config FILE        emulator config (JSON, see docs/EMULATOR.md); default: the demo config
          --state FILE         keep the state in this SQLite file across restarts
          --tls-cert FILE      PEM certificate chain to serve https with (needs --tls-key)
          --tls-key FILE       PEM private key of --tls-cert
          --self-signed DIR    serve https with DIR/cert.pem and DIR/key.pem, made if missing
                               (cert.pem works as a CA file for clients)
        Without TLS options it serves plain http (local use only). Logs are JSON lines on stderr;
        LOG_LEVEL sets their level (default info).
        """

    struct Options {
        var listen = ListenAddress(host: "127.0.0.1", port: 0)
        var configPath: String?
        var statePath: String?
        var tlsCertificate: String?
        var tlsKey: String?
        var selfSignedDirectory: String?
    }

    struct UsageError: Error {
        let message: String
    }

    /// Runs the emulator; returns the exit code (0 after a signal, 2 for bad flags or config, 1 when it
    /// cannot start).
    static func run(arguments: [String]) async -> Int32 {
        let options: Options
        do {
            if arguments.contains("--help") || arguments.contains("-h") {
                print(usage)
                return 0
            }
            options = try parse(arguments)
        } catch {
            fail("purview-gateway emulator: \(error.message)\n\(usage)")
            return 2
        }
        let config: EmulatorConfig
        do throws(EmulatorConfigError) {
            config =
                try options.configPath.map { path throws(EmulatorConfigError) in
                    try EmulatorService.loadConfig(path: path)
                } ?? .demo()
        } catch {
            fail("purview-gateway emulator: \(error)")
            return 2
        }
        let tls: TLSContext?
        do {
            tls = try makeTLS(options)
        } catch {
            fail("purview-gateway emulator: \(error.message)")
            return 2
        }
        let environment = ProcessInfo.processInfo.environment
        let level = environment["LOG_LEVEL"].flatMap(LogLevel.init(parsing:)) ?? .info
        let logger = Logger(label: "purview-emulator", level: level, sink: JSONLinesLogSink(fileDescriptor: 2))
        let service: EmulatorService
        if let statePath = options.statePath {
            do throws(EmulatorStateError) {
                service = try EmulatorService(config: config, statePath: statePath, logger: logger)
            } catch {
                fail("purview-gateway emulator: \(error)")
                return 1
            }
        } else {
            service = EmulatorService(config: config, logger: logger)
        }
        do {
            try service.start(listen: options.listen.host, port: options.listen.port, tls: tls)
        } catch {
            fail("purview-gateway emulator: cannot listen on \(options.listen): \(error)")
            await service.shutdown()
            return 1
        }
        let url = service.baseURL?.origin ?? ""
        let source = options.configPath == nil ? ", demo config" : ""
        print("purview emulator listening on \(url) (tenant \(config.tenantId)\(source))")
        fflush(nil)
        await service.runUntilTerminationSignal()
        return 0
    }

    /// Runs the emulator and exits the process with its code.
    static func main(arguments: [String]) async -> Never {
        exit(await run(arguments: arguments))
    }

    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var options = Options()
        var index = 0
        func value(_ flag: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count, !arguments[index].hasPrefix("--") else {
                throw UsageError(message: "\(flag) needs a value")
            }
            return arguments[index]
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--listen":
                let text = try value(flag)
                do throws(SettingsError) {
                    options.listen = try ListenAddress.parse(text, setting: flag)
                } catch {
                    throw UsageError(message: error.description)
                }
            case "--config": options.configPath = try value(flag)
            case "--state": options.statePath = try value(flag)
            case "--tls-cert": options.tlsCertificate = try value(flag)
            case "--tls-key": options.tlsKey = try value(flag)
            case "--self-signed": options.selfSignedDirectory = try value(flag)
            default: throw UsageError(message: "unknown argument '\(flag)'")
            }
            index += 1
        }
        if (options.tlsCertificate == nil) != (options.tlsKey == nil) {
            throw UsageError(message: "--tls-cert and --tls-key go together")
        }
        if options.tlsCertificate != nil, options.selfSignedDirectory != nil {
            throw UsageError(message: "use either --tls-cert/--tls-key or --self-signed")
        }
        return options
    }

    /// The TLS context from --tls-cert/--tls-key, or from --self-signed DIR (made on first use).
    static func makeTLS(_ options: Options) throws(UsageError) -> TLSContext? {
        var certificate = options.tlsCertificate
        var key = options.tlsKey
        if let directory = options.selfSignedDirectory {
            let paths = try selfSignedFiles(in: directory, host: options.listen.host)
            certificate = paths.certificate
            key = paths.key
        }
        guard let certificate, let key else { return nil }
        do {
            return try TLSContext(
                server: TLSServerConfiguration(certificateChain: .file(certificate), privateKey: .file(key)))
        } catch {
            throw UsageError(message: "cannot use the TLS certificate \(certificate) and key \(key): \(error)")
        }
    }

    /// `DIR/cert.pem` and `DIR/key.pem`, generated (for 127.0.0.1, ::1, localhost and the listen host)
    /// unless both exist.
    static func selfSignedFiles(in directory: String, host: String) throws(UsageError) -> (
        certificate: String, key: String
    ) {
        let certificate = directory + "/cert.pem"
        let key = directory + "/key.pem"
        let files = FileManager.default
        if files.fileExists(atPath: certificate), files.fileExists(atPath: key) { return (certificate, key) }
        var names = ["IP:127.0.0.1", "IP:::1", "DNS:localhost"]
        if !["127.0.0.1", "::1", "0.0.0.0", "::", "localhost"].contains(host) {
            let isAddress = host.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" }
            names.append((isAddress ? "IP:" : "DNS:") + host)
        }
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let generated = try SelfSignedCertificate.generate(commonName: "purview-emulator", subjectAltNames: names)
            try Data(generated.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: key))
            try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
            try Data(generated.certificatePEM.utf8).write(to: URL(fileURLWithPath: certificate))
        } catch {
            throw UsageError(message: "cannot make a self-signed certificate in \(directory): \(error)")
        }
        return (certificate, key)
    }

    private static func fail(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
