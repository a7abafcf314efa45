"""Title normalisation for matching reposts to their originals.

`normalise_title` reduces a title to a comparable key: NFKC, a limited
traditional→simplified table, repost tags and 转发 wrappers removed, trailing 文号,
``（全文）`` and date suffixes removed, then all punctuation and whitespace dropped.
Digits are kept, so ``2024年…`` and ``2025年…`` stay distinct, and 印发/关于 are kept,
so a news item ``国务院办公厅印发《…》`` never equals the notice ``…关于印发《…》的通知``.

Wrappers are removed repeatedly until none is left, so a repost of a repost reaches the
same key as the original. The price: an original whose own title is a 转发 notice
(``国务院办公厅转发国家发展改革委关于…意见的通知``) gets the same key as the document it
forwards.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from syndicator.text.docno import DocNo, find_doc_nos, parse_doc_no, strip_doc_no

__all__ = ["TitleForm", "analyse_title", "is_truncated", "normalise_title"]

# Traditional → simplified for characters common in government titles. This is a limited
# table, not a converter: characters it lacks pass through unchanged.
_T2S_PAIRS = (
    "國国 關关 於于 辦办 發发 務务 與与 為为 會会 經经 濟济 區区 縣县 產产 業业 門门 開开 "
    "東东 車车 長长 閱阅 問问 間间 聞闻 書书 實实 現现 時时 進进 遠远 運运 過过 還还 這这 "
    "選选 總总 統统 織织 組组 結结 給给 紅红 級级 細细 練练 約约 紙纸 線线 網网 絡络 維维 "
    "綠绿 續续 編编 緊紧 貫贯 質质 貨货 財财 責责 資资 費费 貿贸 賣卖 買买 購购 貸贷 贊赞 "
    "負负 貧贫 賦赋 價价 億亿 們们 個个 側侧 僅仅 優优 傳传 傷伤 備备 儲储 償偿 協协 單单 "
    "衛卫 廣广 應应 廳厅 廢废 廠厂 歷历 壓压 厲厉 參参 雙双 變变 敘叙 圖图 圍围 園园 團团 "
    "場场 塊块 壞坏 壯壮 聲声 處处 夠够 頭头 奪夺 獎奖 婦妇 學学 寧宁 審审 寫写 對对 導导 "
    "將将 專专 尋寻 屬属 層层 歲岁 島岛 嶺岭 幣币 師师 帶带 幫帮 幹干 庫库 彈弹 強强 歸归 "
    "當当 錄录 徑径 從从 復复 複复 徵征 憲宪 態态 慶庆 懷怀 戰战 戶户 擁拥 擔担 據据 擬拟 "
    "擴扩 擇择 護护 報报 掛挂 採采 揮挥 損损 換换 攝摄 擊击 擾扰 敵敌 數数 斷断 無无 舊旧 "
    "晉晋 暫暂 曆历 條条 來来 極极 構构 標标 樣样 橋桥 機机 檢检 權权 樓楼 歡欢 歐欧 殘残 "
    "氣气 漢汉 準准 滅灭 滬沪 漁渔 潔洁 澤泽 災灾 點点 煙烟 熱热 營营 燈灯 爭争 爾尔 牆墙 "
    "狀状 獨独 獲获 環环 畫画 畢毕 異异 療疗 盡尽 監监 盤盘 眾众 礎础 確确 禮礼 禍祸 種种 "
    "稅税 稱称 穩稳 積积 窮穷 競竞 筆笔 築筑 節节 範范 簡简 糧粮 緣缘 縮缩 績绩 罰罚 習习 "
    "聯联 聽听 職职 肅肃 脫脱 腦脑 臨临 舉举 艱艰 藝艺 藥药 蘇苏 蘭兰 號号 衝冲 補补 製制 "
    "見见 規规 視视 親亲 覺觉 覽览 觀观 計计 訂订 認认 討讨 訓训 記记 設设 許许 訴诉 診诊 "
    "證证 評评 詞词 試试 話话 該该 詳详 誠诚 誤误 說说 調调 談谈 請请 論论 諮咨 講讲 謀谋 "
    "識识 議议 讀读 讓让 豐丰 貢贡 賽赛 趕赶 跡迹 踐践 軍军 軌轨 輕轻 載载 輔辅 輪轮 輸输 "
    "轉转 農农 邊边 連连 遷迁 適适 遲迟 遺遗 鄉乡 醫医 釋释 銀银 銷销 鋼钢 錢钱 錯错 鎮镇 "
    "鐵铁 鑒鉴 閉闭 際际 陳陈 陽阳 陰阴 陸陆 隊队 階阶 隨随 險险 隱隐 雜杂 離离 難难 電电 "
    "靈灵 靜静 項项 順顺 須须 預预 領领 頻频 題题 額额 願愿 類类 顧顾 顯显 風风 飛飞 養养 "
    "餘余 館馆 驗验 體体 齊齐 齡龄 龍龙 葉叶 萬万 後后 啟启 嚴严 奮奋 屆届 彙汇 匯汇 徹彻 "
    "檔档 溝沟 淨净 滿满 灣湾 獻献 碼码 礦矿 禦御 穀谷 糾纠 紀纪 納纳 純纯 終终 綜综 緩缓 "
    "繳缴 羅罗 義义 聖圣 興兴 莊庄 蓋盖 薦荐 虛虚 術术 裝装 襲袭 訪访 詢询 誌志 諾诺 譯译 "
    "賀贺 賬账 趨趋 蹤踪 軟软 較较 輯辑 辭辞 達达 遞递 郵邮 鎖锁 陣阵 雖虽 雲云 響响 頁页 "
    "頒颁 頓顿 驅驱 鮮鲜 麗丽 黨党 衆众 並并 兩两 亂乱 佔占 係系 倉仓 倫伦 偉伟 儀仪 兒儿 "
    "內内 冊册 凍冻 則则 剛刚 創创 劃划 劇剧 劉刘 動动 勞劳 勢势 勵励 勸劝 卻却 員员 啓启 "
    "喪丧 圓圆 執执 堅坚 塗涂 墾垦 夢梦 奧奥 寶宝 寬宽 嶽岳 巖岩 帳帐 張张 恆恒 惡恶 愛爱 "
    "慣惯 擠挤 擺摆 攜携 敗败 暢畅 曉晓 樂乐 樞枢 樹树 橫横 欄栏 決决 況况 沒没 淺浅 測测 "
    "滙汇 漸渐 潛潜 濕湿 煉炼 燒烧 爲为 犧牺 獄狱 瓊琼 畝亩 礙碍 竊窃 籌筹 簽签 紐纽 絕绝 "
    "絲丝 緒绪 縱纵 繪绘 聰聪 膚肤 觸触 訊讯 託托 誕诞 諸诸 謹谨 譜谱 豬猪 賠赔 賢贤 賴赖 "
    "贈赠 躍跃 輛辆 轄辖 辯辩 鄰邻 釀酿 鏈链 鐘钟 閥阀 闡阐 陝陕 韌韧 顆颗 飼饲 鴻鸿 鹼碱 "
    "麵面 齒齿 黃黄 貝贝 魚鱼 馬马 鳥鸟 鹽盐 麥麦 飯饭 飲饮 驛驿 駐驻 騰腾 鬧闹 瀋沈"
)
_T2S = str.maketrans({pair[0]: pair[1] for pair in _T2S_PAIRS.split()})
_TRADITIONAL_RE = re.compile("[" + re.escape("".join(chr(c) for c in _T2S)) + "]")

# NFKC has already turned … into ..., full-width （：｜＜＞ into ( : | < >, and 〈〉 (U+2329/
# U+232A) into 〈〉 (U+3008/U+3009).
_ELLIPSIS_RE = re.compile(r"(?:\.{3,}|。{3,}|[…⋯]+)\s*$")
_TAG_WORDS = "转载|转发|全文|受权发布|权威发布"
_TAG_RE = re.compile(
    rf"^\s*(?:[【\[(]\s*(?:{_TAG_WORDS})\s*[】\])]|(?:{_TAG_WORDS})\s*[:丨|]|转载|受权发布|权威发布)\s*"
)
_ELLIPSIS_ENDS = frozenset(".。…⋯")  # the last character of anything _ELLIPSIS_RE finds
_TRAILER_ENDS = frozenset(")】]文")  # … and of anything _TRAILER_RE finds, spaces aside
_TRAILER_RE = re.compile(
    r"\s*(?:[(【\[]\s*全文\s*[)】\]]|全文|\(\s*\d{4}年\d{1,2}月\d{1,2}日\s*\))\s*$"
)
# The issuer of a wrapper must end like an organisation, so "关于规范转发工作的通知" is
# not mistaken for a wrapper around "工作的通知".
_ISSUER = (
    r"(?:[^《》〈〉<>]*?(?:办公室|办公厅|人民政府|政府|委员会|委|部|局|厅|院|办|中心|小组"
    r"|省|市|县|区|镇|乡|街道))?"
)
_QUOTED_WRAPPER_RE = re.compile(
    rf"^{_ISSUER}\s*(?:关于)?转发\s*[《〈<](?P<inner>.+)[》〉>]\s*(?:\([^()]*\))?\s*的?通知$"
)
_PLAIN_WRAPPER_RE = re.compile(rf"^{_ISSUER}\s*(?:关于)?转发\s*[:]?\s*(?P<inner>[^《〈<\s].+)$")
# "关于转发X的意见的通知": the trailing 的通知 belongs to the wrapper only when X itself
# ends with a document genre; in "关于转发X的通知" it is X's own ending.
_GENRE_RE = re.compile(
    "(?:意见|通知|办法|规定|决定|方案|细则|规划|纲要|批复|公告|通告|函|条例|计划|措施|指引"
    "|指南|标准|规则|要点|制度|名单|目录|清单|报告|决议|通报|令)$"
)
_WRAPPER_TAIL = "的通知"


@dataclass(frozen=True, slots=True)
class TitleForm:
    """A title analysed for matching.

    Attributes:
        text: The comparable key, as returned by `normalise_title`.
        truncated: The title ended with an ellipsis (``…``, ``...``, ``。。。``).
        wrapped: A repost tag (``【转载】``, ``转发：`` …) or a 转发 wrapper was removed.
        doc_no: The trailing document number removed from the title, else the first
            document number anywhere in it, else ``None``.
        layers: The keys of the title as each 转发 wrapper comes off, outermost first; the
            last one is ``text``. A forwarding notice that is itself an upstream item
            (江西省人民政府办公厅转发国务院办公厅…) is found by its own layer.
    """

    text: str
    truncated: bool
    wrapped: bool
    doc_no: DocNo | None
    layers: tuple[str, ...] = ()


def _prepare(title: str) -> str:
    text = unicodedata.normalize("NFKC", title)
    # Most titles are simplified already: a regex scan is far cheaper than translating.
    if _TRADITIONAL_RE.search(text) is not None:
        text = text.translate(_T2S)
    return text.strip()


def is_truncated(title: str) -> bool:
    """Tell whether a title was cut short with an ellipsis.

    Args:
        title: A title as published.

    Returns:
        ``True`` for titles ending with ``…``, ``……``, ``...`` or ``。。。``.
    """
    return _ELLIPSIS_RE.search(_prepare(title)) is not None


def _unwrap(text: str) -> str | None:
    if "转发" not in text:
        return None  # both wrapper patterns need it
    quoted = _QUOTED_WRAPPER_RE.match(text)
    if quoted is not None:
        return quoted["inner"].strip()
    plain = _PLAIN_WRAPPER_RE.match(text)
    if plain is None:
        return None
    inner = plain["inner"].strip()
    if inner.endswith(_WRAPPER_TAIL) and _GENRE_RE.search(inner[: -len(_WRAPPER_TAIL)]):
        inner = inner[: -len(_WRAPPER_TAIL)]
    return inner


def analyse_title(title: str) -> TitleForm:
    """Analyse a title into its comparable key and what was removed on the way.

    Args:
        title: A title as published, by the original portal or by a reposting site.

    Returns:
        The `TitleForm`; ``form.text`` is the same string `normalise_title` returns.
    """
    text = _prepare(title)
    # Each pattern below is anchored at the end or needs a word: cheap tests first, since a
    # batch analyses tens of thousands of titles.
    ellipsis = _ELLIPSIS_RE.search(text) if text[-1:] in _ELLIPSIS_ENDS else None
    if ellipsis is not None:
        text = text[: ellipsis.start()].rstrip()
    wrapped = False
    doc_no: DocNo | None = None
    layers: list[str] = []
    while True:
        before = text
        tag = _TAG_RE.match(text)
        if tag is not None and tag.end() < len(text):
            text = text[tag.end() :]
            wrapped = True
        trailer = _TRAILER_RE.search(text) if text.rstrip()[-1:] in _TRAILER_ENDS else None
        if trailer is not None and trailer.start() > 0:
            text = text[: trailer.start()]
        stripped = strip_doc_no(text)
        if stripped and stripped != text:
            if doc_no is None:
                doc_no = find_doc_nos(text)[-1]
            text = stripped
        inner = _unwrap(text)
        if inner:
            layers.append(_key(text))
            text = inner
            wrapped = True
        if text == before:
            break
    if doc_no is None:
        doc_no = parse_doc_no(title)
    key = _key(text)
    if not layers or layers[-1] != key:
        layers.append(key)
    return TitleForm(
        text=key,
        truncated=ellipsis is not None,
        wrapped=wrapped,
        doc_no=doc_no,
        layers=tuple(layers),
    )


class _Dropped(dict[int, int | None]):
    """``str.translate`` table deleting what a key leaves out, filled as characters appear.

    Categories P (punctuation), Z (separators) and C (controls, format characters) go; other
    symbols stay, except < > which NFKC makes of ＜＞ standing in for 《》. One table look-up
    per character instead of a ``unicodedata`` call: a third of a batch match was this.
    """

    def __missing__(self, code: int) -> int | None:
        ch = chr(code)
        kept = unicodedata.category(ch)[0] not in "PZC" and ch not in "<>"
        value = code if kept else None
        self[code] = value
        return value


_DROPPED = _Dropped()


def _key(text: str) -> str:
    # casefold() makes "APP" and "App" equal.
    return text.translate(_DROPPED).casefold()


def normalise_title(title: str) -> str:
    """Return the comparable key of a title.

    A repost title and the original it reposts yield the same key, e.g.
    ``南昌市人民政府办公室关于转发《国务院办公厅关于印发〈政府网站发展指引〉的通知》的通知``
    and ``国务院办公厅关于印发《政府网站发展指引》的通知``.

    Args:
        title: A title as published.

    Returns:
        The key: simplified characters, no punctuation or whitespace, no repost tags or
        wrappers, no trailing 文号, ``（全文）``, date suffix or ellipsis.
    """
    return analyse_title(title).text
