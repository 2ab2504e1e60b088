import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import NIOSSL
import Prometheus
import SyncCore
import SyncPostgres

/// The TLS settings the server serves with.
enum ServerTLS {
    /// The TLS 1.2 suites offered: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305.
    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
}

/// `gridsync-server serve`: HTTPS until SIGTERM or SIGINT, then a graceful shutdown.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve HTTPS (TLS 1.2 minimum, 1.3 preferred).")

    @OptionGroup var data: DataOption

    @Option(help: "Override the configured port (0: any free port).")
    var port: Int?

    func run() async throws {
        let folder = DataFolder(data.data)
        var configured = try folder.loadConfig()
        if let port { configured.port = port }
        var serverLogger = Logger(label: "gridsync-server")
        // GRIDSYNC_LOG_LEVEL=debug (or trace) shows more, PostgresNIO's connections and queries included.
        serverLogger.logLevel = ProcessInfo.processInfo.environment["GRIDSYNC_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))

        let (config, logger) = (configured, serverLogger)
        if let database = config.database {
            let address = try PostgresAddress(database)
            logger.info("records and devices in PostgreSQL", metadata: ["database": "\(address)"])
        }
        // With PostgreSQL, the client runs beside the server and stops after it.
        try await folder.withStores(
            config, logger: logger, syncRecordDelay: .milliseconds(config.syncRecordDelay), connections: config.databaseConnections
        ) { store, registry in
            try await serve(folder: folder, config: config, store: store, registry: registry, logger: logger, metrics: metrics)
        }
    }

    private func serve(
        folder: DataFolder, config: ServerConfig, store: any SyncStore, registry: any DeviceDirectory, logger: Logger,
        metrics: PrometheusCollectorRegistry
    ) async throws {
        let service = SyncService(
            store: store, registry: registry, config: config,
            caCertificatePEM: String(decoding: try Data(contentsOf: folder.caCertificate), as: UTF8.self), wallClock: SystemWallClock(),
            logger: logger)

        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(folder.serverCertificate.path).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: folder.serverKey.path, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        tls.maximumTLSVersion = .tlsv13
        // TLS 1.2 with forward secrecy and AEAD only (TLS 1.3's suites are all AEAD): no CBC, no SHA-1 MAC.
        tls.cipherSuites = ServerTLS.tls12CipherSuites

        let requestGrace = TimeAmount.seconds(Int64(config.requestTimeout))
        let deadlineLogger = logger
        let address = config.bindAddress
        let configuredPort = config.port
        let blobs = try BlobStore(folder: folder.photos(config))
        // Uploads left unfinished for a week are dropped, at start and every hour.
        let expiryLogger = logger
        let expiry = Task.detached {
            while !Task.isCancelled {
                let removed = blobs.expirePartials(untouchedSince: Date().addingTimeInterval(-7 * 86_400))
                if removed > 0 { expiryLogger.info("expired unfinished photo uploads", metadata: ["count": "\(removed)"]) }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
        defer { expiry.cancel() }
        let grants: PhotoGrants
        if let postgres = store as? PostgresSyncStore {
            // Shared by every server: the grants in the database, challenges keyed by the shared key.
            grants = PhotoGrants(
                postgres: try await PostgresPhotoGrants.open(client: postgres.store.client, logger: logger),
                challengeKey: PhotoGrants.sharedChallengeKey(serverKeyPEM: try Data(contentsOf: folder.serverKey)))
        } else {
            grants = try PhotoGrants(path: folder.photoGrants.path)
        }
        try await grants.grantPhotosHeldBeforeGrants(blobs: blobs, store: store)
        let photos = PhotoService(
            blobs: blobs, store: store, grants: grants,
            maxPhotoBytes: config.maxPhotoBytes, wallClock: SystemWallClock(), budget: service.budget)
        let app = Application(
            router: Routes.router(service: service, photos: photos, metrics: metrics),
            server: try .tls(
                .http1(
                    configuration: .init(
                        additionalChannelHandlers: RequestDeadline.handlers(grace: requestGrace, logger: deadlineLogger),
                        idleTimeout: .seconds(Int64(config.idleTimeout)))), tlsConfiguration: tls),
            configuration: .init(address: .hostname(config.bindAddress, port: config.port), serverName: "gridsync-server"),
            onServerRunning: { channel in
                // Tests and scripts read this line to learn the port.
                let line = "listening on \(address):\(channel.localAddress?.port ?? configuredPort)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: logger)
        // When the server stops, requests have finished: write the sync records still waiting.
        do {
            try await app.runService()
        } catch {
            try? await registry.flushSyncRecords()
            throw error
        }
        try await registry.flushSyncRecords()
    }
}
