import Foundation

/// The levels of the area tree, by depth: region > prefecture > county > township >
/// village/community > grid (PRODUCT.md). An area path's level is its number of segments.
public enum AreaLevel: String, CaseIterable, Codable, Sendable {
    case region, prefecture, county, township, village, grid

    /// The number of segments of a path at this level (region 1 … grid 6).
    public var depth: Int { Self.allCases.firstIndex(of: self)! + 1 }

    /// The level of a path with `depth` segments, nil past the grid.
    public init?(depth: Int) {
        guard depth >= 1 && depth <= Self.allCases.count else { return nil }
        self = Self.allCases[depth - 1]
    }

    /// The level a drill-down shows below `area`: townships under a county or above (or
    /// everything), villages under a township, grids under a village, nothing under a grid.
    public static func below(_ area: String?) -> AreaLevel? {
        switch area.map({ $0.split(separator: "/").count }) ?? 0 {
        case 0...3: return .township
        case 4: return .village
        case 5: return .grid
        default: return nil
        }
    }

    /// Parses a level as an import file gives it: the English name or the Chinese one
    /// (自治区/省, 地区/市/州, 县/区, 乡镇/乡/镇/街道, 村/社区, 网格).
    public init?(text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let level = Self(rawValue: t) { self = level; return }
        switch t {
        case "community": self = .village
        case "自治区", "省": self = .region
        case "地区", "市", "州": self = .prefecture
        case "县", "区", "县区": self = .county
        case "乡镇", "乡", "镇", "街道": self = .township
        case "村", "社区", "村社区", "村（社区）": self = .village
        case "网格": self = .grid
        default: return nil
        }
    }
}

/// An area of the tree with its names, as the operator gives them.
public struct AreaName: Codable, Equatable, Sendable {
    public var path: String
    public var nameZh: String?
    public var nameBo: String?
    /// The level, from the path's depth (nil deeper than a grid).
    public var level: AreaLevel? { AreaLevel(depth: path.split(separator: "/").count) }

    public init(path: String, nameZh: String?, nameBo: String?) {
        self.path = path
        self.nameZh = nameZh
        self.nameBo = nameBo
    }

    enum CodingKeys: String, CodingKey { case path, level, nameZh, nameBo }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        nameZh = try c.decodeIfPresent(String.self, forKey: .nameZh)
        nameBo = try c.decodeIfPresent(String.self, forKey: .nameBo)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encodeIfPresent(level, forKey: .level)
        try c.encodeIfPresent(nameZh, forKey: .nameZh)
        try c.encodeIfPresent(nameBo, forKey: .nameBo)
    }
}

/// The named areas a replica knows, for showing places by name (扎西岗乡 / 3村 / 2网格).
public struct AreaNames: Sendable {
    /// The areas by path.
    public let byPath: [String: AreaName]

    public init(_ areas: [AreaName]) {
        byPath = Dictionary(areas.map { ($0.path, $0) }, uniquingKeysWith: { $1 })
    }

    /// The name of the area itself in `script` (Tibetan falls back to Chinese; the path's last
    /// segment when unnamed).
    public func name(_ path: String, tibetan: Bool = false) -> String {
        let area = byPath[path]
        let name = tibetan ? (area?.nameBo ?? area?.nameZh) : (area?.nameZh ?? area?.nameBo)
        return name ?? String(path.split(separator: "/").last ?? "")
    }

    /// How a person reads a place: a township or anything above by its own name; a village or
    /// grid by the names from its township down (`扎西岗乡 / 3村 / 2网格`).
    public func label(_ path: String, tibetan: Bool = false) -> String {
        let segments = path.split(separator: "/")
        let top = AreaLevel.township.depth
        guard segments.count > top else { return name(path, tibetan: tibetan) }
        return (top...segments.count).map { name(segments.prefix($0).joined(separator: "/"), tibetan: tibetan) }.joined(separator: " / ")
    }

    /// The path's ancestor at `level`, nil when the path is above it.
    public static func ancestor(_ path: String, at level: AreaLevel) -> String? {
        let segments = path.split(separator: "/")
        guard segments.count >= level.depth else { return nil }
        return segments.prefix(level.depth).joined(separator: "/")
    }
}

/// Reads the operator's area tree file: CSV with the columns path, level, Chinese name, Tibetan
/// name (a header line naming `path` first is skipped). Every line is checked before anything is
/// stored: a valid, unique path of at most six segments, a level that matches its depth, a Chinese
/// name, names within the sizes of `grids`, and its parent listed unless it is the file's top.
public enum AreaTreeFile {
    public static func parse(_ text: String) throws(SyncCoreError) -> [AreaName] {
        var areas: [AreaName] = []
        var lines: [String: Int] = [:]
        for (line, fields) in try CSV.records(text) {
            let f = fields.map { $0.trimmingCharacters(in: .whitespaces) }
            if areas.isEmpty && lines.isEmpty && f.first?.lowercased() == "path" { continue }
            guard f.count >= 3 && f.count <= 4 else {
                throw .invalidInput("line \(line): expected path, level, Chinese name, Tibetan name; found \(fields.count) field(s)")
            }
            let path: AreaPath
            do { path = try AreaPath(f[0]) } catch { throw .invalidInput("line \(line): \(error.description)") }
            guard let depthLevel = AreaLevel(depth: path.segments.count) else {
                throw .invalidInput("line \(line): \(f[0]) has \(path.segments.count) segments; the tree ends at grids (6)")
            }
            guard let level = AreaLevel(text: f[1]) else {
                throw .invalidInput(
                    "line \(line): unknown level \(f[1].debugDescription); use \(AreaLevel.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            guard level == depthLevel else {
                throw .invalidInput(
                    "line \(line): \(f[0]) is at the \(depthLevel.rawValue) level (\(path.segments.count) segments), not \(level.rawValue)")
            }
            if let first = lines[path.string] {
                throw .invalidInput("line \(line): \(path.string) is listed again (first on line \(first))")
            }
            let zh = f[2].isEmpty ? nil : f[2]
            let bo = f.count > 3 && !f[3].isEmpty ? f[3] : nil
            guard let zh else { throw .invalidInput("line \(line): \(path.string) has no Chinese name") }
            do {
                _ = try InputRules.text(zh, Schema.grids["name_zh"], field: .areaNameZh)
                _ = try InputRules.text(bo, Schema.grids["name_bo"], field: .areaNameBo)
            } catch { throw .invalidInput("line \(line): \(error.description)") }
            lines[path.string] = line
            areas.append(AreaName(path: path.string, nameZh: zh, nameBo: bo))
        }
        guard !areas.isEmpty else { throw .invalidInput("the file lists no areas") }
        let top = areas.map { $0.path.split(separator: "/").count }.min()!
        for area in areas {
            let segments = area.path.split(separator: "/")
            guard segments.count > top else { continue }
            let parent = segments.dropLast().joined(separator: "/")
            guard lines[parent] != nil else {
                throw .invalidInput("line \(lines[area.path]!): the parent of \(area.path), \(parent), is not listed")
            }
        }
        return areas
    }
}
