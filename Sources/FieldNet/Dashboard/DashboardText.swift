import FieldCLI

/// The dashboard's words in English, Chinese and Tibetan. Statuses, tiers, kinds and events come
/// from `Terms`, the one terminology of the tool.
enum DashboardText {
    enum Lang: String, CaseIterable, Sendable {
        case zh, bo, en

        var htmlCode: String { self == .bo ? "bo" : self == .zh ? "zh-Hans" : "en" }
        var own: String {
            switch self {
            case .zh: return "中文"
            case .bo: return "བོད་ཡིག"
            case .en: return "English"
            }
        }
    }

    static func t(_ key: String, _ lang: Lang) -> String {
        guard let row = words[key] else { return key }
        switch lang {
        case .zh: return row.0
        case .bo: return row.1
        case .en: return row.2
        }
    }

    /// key: (Chinese, Tibetan, English)
    static let words: [String: (String, String, String)] = [
        "title": ("综治中心看板", "སྤྱི་བདེའི་ལྟེ་གནས་ཀྱི་ངོས་ལེབ།", "County center dashboard"),
        "overview": ("总览", "སྤྱིའི་གནས་ཚུལ།", "Overview"),
        "issues": ("事项", "དོན་དག", "Issues"),
        "board": ("晒单", "གྲུབ་འབྲས་གསལ་བསྒྲགས།", "Results board"),
        "period": ("统计期间", "དུས་ཚོད།", "Period"),
        "closure_rate": ("办结率", "མཇུག་བསྒྲིལ་ཚད།", "Closure rate"),
        "reported": ("上报", "སྙན་སེང་།", "Reported"),
        "closed": ("办结", "མཇུག་བསྒྲིལ།", "Closed"),
        "open": ("未办理", "མ་ཐག་པ།", "Open"),
        "overdue": ("逾期", "དུས་ཡོལ།", "Overdue"),
        "satisfaction": ("满意率", "ཚིམ་ཚད།", "Satisfied (4-5)"),
        "coverage": ("回访率", "རྗེས་འདྲིའི་ཚད།", "Follow-up coverage"),
        "stale_devices": ("3 天以上未同步的设备", "ཉིན་ ༣ ལྷག་མཉམ་འབྱོར་མ་བྱས་པའི་འཕྲུལ་ཆས།", "Devices not synced for 3 days"),
        "role": ("角色", "འགན།", "Role"),
        "last_sync": ("最近同步", "ཉེ་ཆར་མཉམ་འབྱོར།", "Last sync"),
        "receipt": ("回执", "ལག་ཁྱེར།", "Receipt"),
        "never": ("从未", "གཏན་ནས་མེད།", "never"),
        "rating": ("满意度", "ཚིམ་ཚད།", "Satisfaction"),
        "average": ("平均满意度", "ཚིམ་ཚད་ཆ་སྙོམས།", "Average satisfaction"),
        "within_tier": ("本级办理", "རང་རིམ་དུ་ཐག་གཅོད།", "Handled within tier"),
        "by_area": ("按区域", "ས་ཁོངས་ལྟར།", "By area"),
        "trend": ("月度趋势", "ཟླ་རེའི་འགྱུར་ཕྱོགས།", "Monthly trend"),
        "area": ("区域", "ས་ཁོངས།", "Area"),
        "rate": ("办结率", "ཚད།", "Rate"),
        "month": ("月份", "ཟླ་བ།", "Month"),
        "status": ("状态", "གནས་སྟངས།", "Status"),
        "tier": ("层级", "རིམ་པ།", "Tier"),
        "kind": ("类别", "རིགས།", "Kind"),
        "handler": ("承办人", "འགན་འཁུར་བ།", "Handler"),
        "search": ("搜索", "འཚོལ་བ།", "Search"),
        "filter": ("筛选", "འདེམས་པ།", "Filter"),
        "any": ("全部", "ཚང་མ།", "Any"),
        "only_overdue": ("仅逾期", "དུས་ཡོལ་ཁོ་ན།", "Overdue only"),
        "due": ("期限", "དུས་བཀག", "Due"),
        "title_col": ("标题", "ཁ་བྱང་།", "Title"),
        "shown": ("显示", "མངོན་པ།", "shown"),
        "timeline": ("办理经过", "ལས་རིམ།", "Timeline"),
        "when": ("时间", "དུས་ཚོད།", "When"),
        "who": ("人员", "མི།", "Who"),
        "what": ("事件", "བྱ་བ།", "What"),
        "note": ("说明", "གསལ་བཤད།", "Note"),
        "household": ("住户", "ཁྱིམ་ཚང་།", "Household"),
        "photos": ("照片", "པར།", "Photos"),
        "photo_missing": ("照片尚未下载到本机", "པར་འདི་ད་དུང་ཕབ་ལེན་བྱས་མེད།", "photo not fetched to this device yet"),
        "conflicts": ("待审冲突", "ཞིབ་བཤེར་བྱ་རྒྱུའི་འགལ་བ།", "Conflicts waiting for review"),
        "none": ("无", "མེད།", "none"),
        "lost_value": ("被覆盖的值", "ཚབ་བྱས་པའི་གྲངས།", "Overwritten value"),
        "column": ("字段", "ཡིག་ཚགས།", "Field"),
        "resolution": ("办理结果", "ཐག་གཅོད་གྲུབ་འབྲས།", "Resolution"),
        "board_intro": (
            "已办结事项公示（居民个人信息已隐去）", "མཇུག་བསྒྲིལ་ཟིན་པའི་དོན་དག་གསལ་བསྒྲགས། (མི་སྒེར་གྱི་ཆ་འཕྲིན་སྦས་ཡོད།)",
            "Closed issues, published (residents' personal data masked)"
        ),
        "members": ("人口", "མི་གྲངས།", "Members"),
        "door_plate": ("门牌", "སྒོ་བྱང་།", "Door plate"),
        "phone": ("电话", "ཁ་པར།", "Phone"),
        "reporter": ("上报人", "སྙན་སེང་བ།", "Reported by"),
        "not_found": ("未找到", "རྙེད་མ་སོང་།", "Not found"),
        "access_code": ("访问码", "འཛུལ་ཨང་།", "Access code"),
        "enter": ("进入", "ནང་འཛུལ།", "Enter"),
        "wrong_code": ("访问码不正确", "འཛུལ་ཨང་ནོར་འདུག", "Wrong access code"),
        "print": ("可打印", "པར་སྐྲུན་རུང་།", "Printable"),
        "days": ("天", "ཉིན།", "days"),
        "median_resolve": ("办理用时中位数", "ཐག་གཅོད་དུས་ཚོད་བར་གྲངས།", "Median time to resolution"),
        "unknown_area": ("没有这个区域", "ས་ཁོངས་འདི་མེད།", "No such area"),
    ]
}
