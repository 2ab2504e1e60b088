import SyncCore

/// The one terminology of statuses, tiers, kinds and events in English, Chinese and Tibetan
/// (`docs/TERMS.md` prints it). Every report, export and page names them from here.
package enum Terms {
    /// The term for `key` (a tier, kind, status or event kind's raw value, under its group) in
    /// `language` (`en`, `zh`, `bo`); the key itself when unknown (a later release's value).
    package static func term(_ group: Group, _ key: String, _ language: String = Language.current.rawValue) -> String {
        guard let row = table[group]?[key] else { return key }
        switch language {
        case "zh": return row.zh
        case "bo": return row.bo
        default: return row.en
        }
    }

    package enum Group: String, CaseIterable, Sendable { case tier, kind, status, event, channel }

    /// What a synced table's rows are called.
    package static func recordName(_ table: String, _ language: String) -> String {
        let names: [String: Row] = [
            "households": Row(en: "household", zh: "住户", bo: "ཁྱིམ་ཚང་།"), "issues": Row(en: "issue", zh: "事项", bo: "དོན་དག"),
            "issue_events": Row(en: "event", zh: "事件", bo: "བྱ་བ།"), "photo_refs": Row(en: "photo", zh: "照片", bo: "པར།"),
            "conflicts": Row(en: "conflict", zh: "冲突", bo: "འགལ་བ།"),
        ]
        guard let row = names[table] else { return table }
        return language == "zh" ? row.zh : language == "bo" ? row.bo : row.en
    }

    package struct Row: Sendable {
        package let en: String
        package let zh: String
        package let bo: String
    }

    package static let table: [Group: [String: Row]] = [
        .tier: [
            "small": Row(en: "small (grid and village)", zh: "小事（村级）", bo: "དོན་ཆུང་། (གྲོང་ཚོའི་རིམ་པ།)"),
            "medium": Row(en: "medium (township)", zh: "中事（乡级）", bo: "དོན་འབྲིང་། (ཤང་གི་རིམ་པ།)"),
            "large": Row(en: "large (county)", zh: "大事（县级）", bo: "དོན་ཆེན། (རྫོང་གི་རིམ་པ།)"),
        ],
        .kind: [
            "dispute": Row(en: "dispute", zh: "矛盾纠纷", bo: "རྩོད་གཞི།"),
            "hazard": Row(en: "safety hazard", zh: "安全隐患", bo: "བདེ་འཇགས་ཉེན་ཁ།"),
            "request": Row(en: "request for help", zh: "群众求助", bo: "རོགས་རམ་ཞུ་བ།"),
            "public_order": Row(en: "public order", zh: "社会治安", bo: "སྤྱི་ཚོགས་བདེ་འཇགས།"),
            "environment": Row(en: "environment", zh: "环境卫生", bo: "ཁོར་ཡུག"),
            "other": Row(en: "other", zh: "其他", bo: "གཞན།"),
        ],
        .status: [
            "reported": Row(en: "reported", zh: "已上报", bo: "སྙན་སེང་ཞུས་ཟིན།"),
            "dispatched": Row(en: "dispatched", zh: "已派单", bo: "བགོ་འགྲེམ་བྱས་ཟིན།"),
            "accepted": Row(en: "accepted", zh: "已接单", bo: "ལེན་ཟིན།"),
            "reopened": Row(en: "reopened", zh: "已重办", bo: "བསྐྱར་དུ་སྒྲུབ་བཞིན།"),
            "resolved": Row(en: "resolved", zh: "已办理", bo: "ཐག་གཅོད་བྱས་ཟིན།"),
            "followed_up": Row(en: "followed up", zh: "已回访", bo: "རྗེས་འདྲི་བྱས་ཟིན།"),
            "closed": Row(en: "closed", zh: "已办结", bo: "མཇུག་བསྒྲིལ་ཟིན།"),
        ],
        .event: [
            "reported": Row(en: "reported", zh: "上报", bo: "སྙན་སེང་།"),
            "dispatched": Row(en: "dispatched", zh: "派单", bo: "བགོ་འགྲེམ།"),
            "accepted": Row(en: "accepted", zh: "接单", bo: "ལེན་པ།"),
            "visit": Row(en: "visit", zh: "走访", bo: "ཐུག་འཕྲད།"),
            "escalated": Row(en: "escalated", zh: "上交", bo: "རིམ་པ་སྤར་བ།"),
            "deescalated": Row(en: "de-escalated", zh: "下交", bo: "རིམ་པ་ཕབ་པ།"),
            "resolved": Row(en: "resolved", zh: "办理", bo: "ཐག་གཅོད།"),
            "follow_up": Row(en: "follow-up visit", zh: "回访", bo: "རྗེས་འདྲི།"),
            "reopened": Row(en: "reopened", zh: "重办", bo: "བསྐྱར་སྒྲུབ།"),
            "closed": Row(en: "closed", zh: "办结", bo: "མཇུག་བསྒྲིལ།"),
            "published": Row(en: "published (results board)", zh: "晒单", bo: "གྲུབ་འབྲས་གསལ་བསྒྲགས།"),
        ],
        .channel: [
            "walk_in": Row(en: "in person", zh: "当面反映", bo: "ཞལ་འཕྲད་ཐོག་ཞུས།"),
            "phone": Row(en: "phone", zh: "电话", bo: "ཁ་པར།"),
            "photo": Row(en: "photo sent (随手拍)", zh: "随手拍", bo: "པར་བཏང་ནས་ཞུས།"),
            "hotline": Row(en: "hotline", zh: "热线", bo: "ཞབས་ཞུའི་ཁ་པར་ལམ།"),
            "patrol": Row(en: "found on patrol", zh: "巡查发现", bo: "བསྐོར་ཞིབ་སྐབས་རྙེད།"),
        ],
    ]
}
