import Crypto
import Foundation
import SwiftASN1
import X509

/// Makes the operator's private CA and the server certificate it signs (P-256 keys).
enum CertificateFactory {
    struct Issued {
        var certificatePEM: String
        var keyPEM: String
    }

    /// A self-signed CA valid for ten years.
    static func makeCA(name: String) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("GridSync")
            CommonName(name)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: subject, subject: subject,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: key.pemRepresentation)
    }

    /// A server certificate for `hosts` (DNS names or IP addresses), signed by the CA, valid for
    /// `days` days from `notBefore`.
    static func makeServerCertificate(
        hosts: [String], caCertificatePEM: String, caKeyPEM: String, notBefore: Date = Date(), days: Int = 825
    ) throws -> Issued {
        let ca = try Certificate(pemEncoded: caCertificatePEM)
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
        let key = P256.Signing.PrivateKey()
        let names: [GeneralName] = hosts.map { host in
            if let ip = ipv4Bytes(host) { return .ipAddress(ASN1OctetString(contentBytes: ip[...])) }
            return .dnsName(host)
        }
        let subject = try DistinguishedName {
            OrganizationName("GridSync")
            CommonName(hosts.first ?? "gridsync-server")
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: notBefore.addingTimeInterval(-3600), notValidAfter: notBefore.addingTimeInterval(Double(days) * 86400),
            issuer: ca.subject, subject: subject,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: key.pemRepresentation)
    }

    static func ipv4Bytes(_ host: String) -> [UInt8]? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }
}
