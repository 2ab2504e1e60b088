/// Splits Chinese, Tibetan and Latin text into the terms the full-text index stores.
///
/// - Chinese (Han) runs give overlapping bigrams (`扎西岗` → `扎西 西岗`) in the `words` column and
///   single characters in `chars`, so any substring of two or more characters is found as a phrase
///   of bigrams, and a single character through `chars`.
/// - Tibetan runs are cut into syllables at the tsheg (་) and shad (།), and a phrase of syllables
///   finds any run of whole syllables.
/// - Latin letters and digits give lowercase words.
enum SearchTokenizer {
    /// The index terms of `text`: a `words` stream and a `chars` stream, space-separated.
    struct Terms: Equatable {
        var words: [String] = []
        var chars: [String] = []
    }

    /// One piece of a query: a phrase to look for in one column.
    struct QueryPart: Equatable {
        var column: String
        var terms: [String]
    }

    enum Script { case han, tibetan, latin, separator }

    static func script(_ s: Unicode.Scalar) -> Script {
        switch s.value {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F: return .han
        case 0x0F0B...0x0F14, 0x0F3A...0x0F3D: return .separator  // tsheg, shad and other punctuation
        case 0x0F00...0x0FFF: return .tibetan
        default:
            let p = s.properties
            return p.isAlphabetic || p.numericType != nil ? .latin : .separator
        }
    }

    /// Maximal runs of one script, each as its scalars.
    static func runs(_ text: String) -> [(Script, [Unicode.Scalar])] {
        var result: [(Script, [Unicode.Scalar])] = []
        for s in text.unicodeScalars {
            var kind = script(s)
            // Combining marks belong to the run before them.
            if kind == .latin, s.properties.generalCategory == .nonspacingMark, let last = result.last { kind = last.0 }
            if kind == .separator { result.append((.separator, [])); continue }
            if let last = result.last, last.0 == kind {
                result[result.count - 1].1.append(s)
            } else {
                result.append((kind, [s]))
            }
        }
        return result.filter { $0.0 != .separator && !$0.1.isEmpty }
    }

    static func terms(_ text: String) -> Terms {
        var terms = Terms()
        for (kind, scalars) in runs(text) {
            switch kind {
            case .han:
                let chars = scalars.map { String($0) }
                terms.chars += chars
                if chars.count > 1 {
                    for i in 0..<(chars.count - 1) { terms.words.append(chars[i] + chars[i + 1]) }
                } else {
                    terms.words += chars
                }
            case .tibetan, .latin:
                var s = String.UnicodeScalarView()
                s.append(contentsOf: scalars)
                terms.words.append(String(s).lowercased())
            case .separator:
                break
            }
        }
        return terms
    }

    /// The parts a query must all match.
    static func query(_ text: String) -> [QueryPart] {
        runs(text).map { kind, scalars in
            let s = scalars.map { String($0) }
            switch kind {
            case .han where s.count == 1:
                return QueryPart(column: "chars", terms: s)
            case .han:
                return QueryPart(column: "words", terms: (0..<(s.count - 1)).map { s[$0] + s[$0 + 1] })
            default:
                return QueryPart(column: "words", terms: [s.joined().lowercased()])
            }
        }
    }

    /// The FTS5 MATCH expression for `text`, or nil when it has nothing to look for.
    static func matchExpression(_ text: String) -> String? {
        var parts = query(text)
        // Consecutive Tibetan syllables and Latin words form one phrase, so word order counts.
        var merged: [QueryPart] = []
        for p in parts {
            if let last = merged.last, last.column == "words", p.column == "words", last.terms.count >= 1,
                !isHanBigram(last.terms.last!), !isHanBigram(p.terms.first!)
            {
                merged[merged.count - 1].terms += p.terms
            } else {
                merged.append(p)
            }
        }
        parts = merged
        guard !parts.isEmpty else { return nil }
        return parts.map { "\($0.column) : \"\($0.terms.joined(separator: " "))\"" }.joined(separator: " AND ")
    }

    static func isHanBigram(_ term: String) -> Bool {
        term.unicodeScalars.first.map { script($0) == .han } ?? false
    }
}
