/// The preset zlib dictionary of changeset format 2 (protocol.md §3.6): the field's common
/// vocabulary, which every compressed body may refer back to from its first byte. It belongs to the
/// format: changing one byte of it makes a new format.
enum PresetDictionary {
    /// The dictionary's text; its UTF-8 bytes are the dictionary. Words nearer the end are the most
    /// common (zlib reaches them with the shortest distances).
    static let text = """
        ཞིང་ཁའི་ས་མཚམས་ཀྱི་རྩོད་གཞི། ཁྱིམ་ཚང་། རྒན་པ་གཅིག་པུར་སྡོད་མཁན། ས་ཁོངས་ཞིབ་བཤེར། མེ་སྐྱོན་ཉེན་ཁ། གློག་སྣུམ་རླངས་འཁོར་ཁང་ནང་དུ་གློག་གསོག་པ། \
        རྩྭ་ཐང་བེད་སྤྱོད་དབང་ཆ། ཁྱིམ་མཚེས་བར་གྱི་རྩོད་གཞི། བཀོད་སྒྲིག་བྱས། ཐག་གཅོད་བྱས། ཞིབ་བཤེར། གྲོང་ཚོ། ཤང་། རྫོང་། དྲ་མིག \
        བཟོ་བཅོས། ཉེན་སྲུང་། འགོ་འཛིན། མི་དམངས། འབྲོག་པ། ཕྱུགས་ཟོག གཡག ལུག རྩྭ་ཐང་། ཆུ། ལམ། ཁང་པ། སྨན་བཅོས། \
        2026-01-01 2026-12-31 2027- 号 户 门牌号 户主 联系电话 身份证 低保户 五保户 独居老人 留守儿童 残疾人 牧民 农牧民 \
        草场使用权纠纷 草场边界纠纷 邻里纠纷 土地纠纷 婚姻家庭纠纷 牲畜损害赔偿 债务纠纷 劳资纠纷 \
        电瓶车入户充电 飞线充电 消防隐患 燃气隐患 用电隐患 房屋安全隐患 危房 道路安全 饮水安全 食品安全 \
        配电室线路老化 灭火器过期 消防通道堵塞 煤气罐 取暖炉 烟囱 \
        乱倒垃圾 环境卫生 污水 噪音 流浪狗 牦牛 绵羊 山羊 马 冬季牧场 夏季牧场 围栏 \
        上门理发 代办 医疗救助 临时救助 就业 培训 子女上学 看病难 办证 补贴 惠民政策 \
        社区 乡镇 村委会 村（居）委会 网格员 网格长 驻村工作队 派出所 司法所 综治中心 县 乡 镇 村 组 网格 \
        请及时处理 已现场核实 已上门走访 已调解 调解成功 双方达成协议 已整改 已排查 已转交 已上报 \
        群众反映 群众满意 非常满意 满意 基本满意 不满意 回访 电话回访 上门回访 已回访 \
        已受理 已派单 处理中 已办结 已关闭 重新打开 升级 降级 督办 超期 按时办结 \
        矛盾纠纷 安全隐患 民生诉求 社会治安 生态环境 其他 小事不出村 大事不出乡镇 \
        扎西 次仁 多吉 卓玛 白玛 罗布 达瓦 边巴 索朗 拉姆 央金 格桑 普布 旦增 平措 德吉 尼玛 拉巴 米玛 顿珠 \
        households issues issue_events photo_refs conflicts grids door_plate head_name_zh head_name_bo members phone \
        location tags notes deleted kind tier title description household_id reporter handler due_date issue_id \
        at actor note from_tier satisfaction owner_table owner_id sha256 caption byte_count \
        tbl row_id col lost_value lost_hlc lost_site resolved resolved_by resolution name_zh name_bo \
        dispute hazard request public_order environment other small medium large \
        dispatched accepted visit escalated deescalated follow_up reopened closed reported resolved
        """

    /// The dictionary's bytes.
    static let bytes: [UInt8] = Array(text.utf8)
}
