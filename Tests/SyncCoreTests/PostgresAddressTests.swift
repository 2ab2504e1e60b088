import Foundation
import SyncPostgres
import Testing

/// `--store` addresses: one host or a primary with its standbys, as libpq writes them.
@Suite struct PostgresAddressTests {
    @Test func oneHostWithItsDefaults() throws {
        let address = try PostgresAddress("postgres://grid:s%40cret@db.county.local/gridsync")
        #expect(address.user == "grid" && address.password == "s@cret" && address.database == "gridsync")
        #expect(address.hosts == [.init(host: "db.county.local", port: 5432)])
        #expect(address.sslMode == "prefer")
        #expect(address.description == "postgres://grid@db.county.local:5432/gridsync?sslmode=prefer")
        #expect(try PostgresAddress("postgres://grid@h:/db").hosts == [.init(host: "h", port: 5432)])
    }

    @Test func aPrimaryAndItsStandbys() throws {
        let address = try PostgresAddress("postgresql://grid@10.0.0.5:5433,10.0.0.6,[fd00::7]:6432/gridsync?sslmode=require")
        #expect(
            address.hosts == [.init(host: "10.0.0.5", port: 5433), .init(host: "10.0.0.6", port: 5432), .init(host: "fd00::7", port: 6432)])
        #expect(address.sslMode == "require")
        #expect(address.description == "postgres://grid@10.0.0.5:5433,10.0.0.6:5432,[fd00::7]:6432/gridsync?sslmode=require")
        #expect(address.clientConfigurations(connections: 7).map { $0.options.maximumConnections } == [7, 7, 7])
        #expect(address.clientConfigurations().map { $0.port } == [5433, 5432, 6432])
    }

    @Test func malformedAddressesSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("mysql://grid@h/db", "expected postgres://"),
            ("postgres://h/db", "the user is missing"),
            ("postgres://grid@h", "the database is missing"),
            ("postgres://grid@h/", "the database is missing"),
            ("postgres://grid@h1,,h2/db", "the host is missing"),
            ("postgres://grid@h:0/db", "port 0 is out of range"),
            ("postgres://grid@h:70000/db", "port 70000 is out of range"),
            ("postgres://grid@h:x/db", "port x is out of range"),
            ("postgres://grid:100%@h/db", "the password in postgres://grid:…@ is not valid percent-encoding"),
            ("postgres://gr%zzid@h/db", "the user is not valid percent-encoding"),
            ("postgres://grid@h/db#x", "a # must be written %23"),
            ("postgres://grid@[fd00::1/db", "lacks its ]"),
            ("postgres://grid@h/db?sslmode=verify-full", "sslmode is disable, prefer or require"),
        ]
        // A password never appears in a message.
        do {
            _ = try PostgresAddress("postgres://grid:hunter2@h/db?sslmode=bad")
        } catch {
            #expect("\(error)".contains("postgres://grid:…@h/db") && !"\(error)".contains("hunter2"), "\(error)")
        }
        for (text, problem) in cases {
            #expect(throws: (any Error).self) { try PostgresAddress(text) }
            do {
                _ = try PostgresAddress(text)
            } catch {
                #expect("\(error)".contains(problem), "\(text): \(error)")
            }
        }
    }
}
