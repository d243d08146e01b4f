/// A region of eligibility: a 법정동코드 시도 prefix (2 digits) or a 시군구 code (5 digits).
///
/// Codes that changed are accepted on input and mapped: 강원 `42` became 강원특별자치도 `51` on
/// 2023-06-11, 전북 `45` became 전북특별자치도 `52` on 2024-01-18 (for 시군구 codes the prefix is
/// mapped and the rest kept).
public struct RegionCode: Hashable, Sendable, Comparable, CustomStringConvertible, CanonicalEncodable {
    /// The current code, 2 or 5 digits.
    public let code: String

    /// 시도 prefixes in force, with their names.
    public static let provinces: [String: String] = [
        "11": "서울특별시", "26": "부산광역시", "27": "대구광역시", "28": "인천광역시",
        "29": "광주광역시", "30": "대전광역시", "31": "울산광역시", "36": "세종특별자치시",
        "41": "경기도", "43": "충청북도", "44": "충청남도", "46": "전라남도", "47": "경상북도",
        "48": "경상남도", "50": "제주특별자치도", "51": "강원특별자치도", "52": "전북특별자치도",
    ]

    /// Legacy 시도 prefixes and the code that replaced them.
    public static let legacyProvinces: [String: String] = ["42": "51", "45": "52"]

    /// Parses a 2- or 5-digit code, mapping legacy prefixes.
    /// - Throws: `.invalidRegion` for another length, non-digits or an unknown 시도.
    public init(_ text: String) throws(ValidationError) {
        // Fast path for the canonical form (every decode of a stored or received record).
        let utf8 = text.utf8
        if (utf8.count == 2 || utf8.count == 5), utf8.allSatisfy({ $0 &- 48 < 10 }), Self.provinces[String(text.prefix(2))] != nil {
            code = text
            return
        }
        let trimmed = text.trimmingASCIIWhitespace
        guard trimmed.count == 2 || trimmed.count == 5, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError(.invalidRegion, field: "region",
                                  "region code \"\(trimmed)\" must be a 2-digit 시도 or 5-digit 시군구 법정동코드 prefix")
        }
        var prefix = String(trimmed.prefix(2))
        if let current = Self.legacyProvinces[prefix] { prefix = current }
        guard Self.provinces[prefix] != nil else {
            throw ValidationError(.invalidRegion, field: "region", "region code \"\(trimmed)\" names no 시도 (unknown prefix \(prefix))")
        }
        code = prefix + trimmed.dropFirst(2)
    }

    /// The 시도 a region name stands for, as agencies write them in titles (`[강원]`), institution
    /// names (`강원특별자치도`) and lists (`강원, 서울`): short names, full names old and new, and
    /// the merged 전남광주 (both 시도). Empty for 전국 (nationwide) and for names it does not know.
    public static func named(_ name: String) -> [RegionCode] {
        let key = name.trimmingASCIIWhitespace
        if let codes = namedProvinces[key] { return codes.map { RegionCode(known: $0) } }
        // `강원도 원주시`, `서울특별시 강남구`: the 시도 word leads.
        if let first = key.split(separator: " ").first, first.count < key.count, let codes = namedProvinces[String(first)] {
            return codes.map { RegionCode(known: $0) }
        }
        return []
    }

    private init(known code: String) { self.code = code }

    static let namedProvinces: [String: [String]] = {
        var table: [String: [String]] = [:]
        let names: [(String, [String])] = [
            ("11", ["서울", "서울시", "서울특별시"]), ("26", ["부산", "부산시", "부산광역시"]), ("27", ["대구", "대구시", "대구광역시"]),
            ("28", ["인천", "인천시", "인천광역시"]), ("29", ["광주", "광주시", "광주광역시"]), ("30", ["대전", "대전시", "대전광역시"]),
            ("31", ["울산", "울산시", "울산광역시"]), ("36", ["세종", "세종시", "세종특별자치시"]), ("41", ["경기", "경기도"]),
            ("43", ["충북", "충청북도"]), ("44", ["충남", "충청남도"]), ("46", ["전남", "전라남도"]), ("47", ["경북", "경상북도"]),
            ("48", ["경남", "경상남도"]), ("50", ["제주", "제주도", "제주특별자치도"]), ("51", ["강원", "강원도", "강원특별자치도"]),
            ("52", ["전북", "전라북도", "전북특별자치도"]),
        ]
        for (code, aliases) in names { for alias in aliases { table[alias] = [code] } }
        for merged in ["전남광주", "전남광주통합특별시", "광주전남"] { table[merged] = ["29", "46"] }
        return table
    }()

    /// The 시도 this region lies in.
    public var province: String { String(code.prefix(2)) }

    public var description: String { code }

    public static func < (lhs: RegionCode, rhs: RegionCode) -> Bool { lhs.code < rhs.code }

    public func encode(to writer: inout CanonicalWriter) { writer.write(code) }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        try self.init(try reader.readString())
    }
}

/// An industry in the 11th revision of 한국표준산업분류 (KSIC, in force since 2024-07-01): a section
/// letter, optionally followed by 2 to 5 digits (`C`, `G47`, `I56111`).
public struct KSICCode: Hashable, Sendable, Comparable, CustomStringConvertible, CanonicalEncodable {
    /// The normalized code (upper-case section letter).
    public let code: String

    /// A section letter, optionally followed by 2-5 digits (`G`, `G47`, `G47111`), or the digits
    /// alone (`47111`, as 통계청's tables and many agency forms write them): the section is then
    /// the one the first two digits' division belongs to (KSIC 10th revision).
    /// - Throws: `.invalidIndustry` when the shape is wrong.
    public init(_ text: String) throws(ValidationError) {
        var trimmed = text.trimmingASCIIWhitespace.uppercased()
        if let first = trimmed.first, first.isASCII, first.isNumber {
            guard (2...5).contains(trimmed.count), trimmed.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let division = Int(trimmed.prefix(2)), let section = Self.section(ofDivision: division) else {
                throw ValidationError(.invalidIndustry, field: "industry",
                                      "industry code \"\(trimmed)\" is no KSIC code: give a section letter A-U, optionally followed by 2-5 digits, or 2-5 digits of an existing division")
            }
            trimmed = String(section) + trimmed
        }
        let chars = Array(trimmed)
        let digits = chars.dropFirst()
        guard let section = chars.first, ("A"..."U").contains(section),
              digits.isEmpty || (2...5).contains(digits.count),
              digits.allSatisfy({ $0.isASCII && $0.isNumber })
        else {
            throw ValidationError(.invalidIndustry, field: "industry",
                                  "industry code \"\(trimmed)\" must be a KSIC section letter A-U optionally followed by 2-5 digits")
        }
        code = trimmed
    }

    public var description: String { code }

    /// The KSIC (10th revision) section of a two-digit division; nil for a number no division has.
    static func section(ofDivision division: Int) -> Character? {
        switch division {
        case 1...3: "A"
        case 5...8: "B"
        case 10...34: "C"
        case 35: "D"
        case 36...39: "E"
        case 41...42: "F"
        case 45...47: "G"
        case 49...52: "H"
        case 55...56: "I"
        case 58...63: "J"
        case 64...66: "K"
        case 68: "L"
        case 70...73: "M"
        case 74...76: "N"
        case 84: "O"
        case 85: "P"
        case 86...87: "Q"
        case 90...91: "R"
        case 94...96: "S"
        case 97...98: "T"
        case 99: "U"
        default: nil
        }
    }

    public static func < (lhs: KSICCode, rhs: KSICCode) -> Bool { lhs.code < rhs.code }

    public func encode(to writer: inout CanonicalWriter) { writer.write(code) }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        try self.init(try reader.readString())
    }
}

extension String {
    /// The string without leading and trailing ASCII spaces, tabs and newlines.
    public var trimmingASCIIWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
