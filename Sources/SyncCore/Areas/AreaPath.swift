/// A path in the area tree (region/prefecture/county/township/village/grid), e.g.
/// `xizang/lhasa/maizhokunggar/zhaxigang/v3/g2`. Used both for a record's grid and for a scope.
public struct AreaPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The path's segments, root first.
    public let segments: [String]

    /// Parses `a/b/c`; segments are 1-64 characters of lowercase ASCII letters, digits, `-` and `_`.
    public init(_ string: String) throws(SyncCoreError) {
        let parts = string.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.count <= 12 else {
            throw .input(.areaPath(string))
        }
        for p in parts {
            guard !p.isEmpty, p.utf8.count <= 64,
                p.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f })
            else {
                throw .input(.areaPath(string))
            }
        }
        segments = parts
    }

    /// The path as `a/b/c`.
    public var string: String { segments.joined(separator: "/") }
    public var description: String { string }

    /// True when `other` is this path or lies below it (a scope contains a grid).
    public func contains(_ other: AreaPath) -> Bool {
        other.segments.count >= segments.count && Array(other.segments.prefix(segments.count)) == segments
    }

    /// True when the path string `grid` lies under one of `scopes` (no scopes: everything).
    public static func isInScopes(_ grid: String, _ scopes: [AreaPath]?) -> Bool {
        guard let scopes else { return true }
        return scopes.contains { scope in
            let s = scope.string
            return grid == s || (grid.hasPrefix(s) && grid.utf8.dropFirst(s.utf8.count).first == UInt8(ascii: "/"))
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.string < rhs.string }
}
