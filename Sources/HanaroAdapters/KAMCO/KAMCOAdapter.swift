import CSV
import Crypto
import Foundation
public import HanaroCore
import NIOHTTP1

/// 한국자산관리공사 has no API: it publishes daily CSV exports over HTTPS (CP949, no BOM, Korean
/// header, RFC 4180 quoting with embedded newlines). `GET /exports/` lists the files;
/// `programs-YYYYMMDD.csv` holds the programs changed that day, `referrals-YYYYMMDD.csv` the
/// referral events. A read fetches the files from the cursor's day to the signpost's day and
/// takes the rows after the cursor and before the signpost. Referrals go to `POST /intake/referrals`
/// as XML. Credential: `X-KAMCO-Key`.
public struct KAMCOAdapter: AgencyAdapter {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP

    /// CP949 (Windows code page 949, a superset of EUC-KR): Foundation's CFStringEncoding DOSKorean.
    static let cp949 = String.Encoding(rawValue: 0x8000_0422)

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    var headers: [(String, String)] { [("X-KAMCO-Key", settings.serviceKey)] }

    public func check() async throws(AdapterError) -> AgencyTimestamp {
        try await index().date
    }

    public func readPrograms(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        try await read(prefix: "programs", after: cursor, pageSize: pageSize, columns: KAMCOMapping.columns,
                       position: KAMCOMapping.position, map: { (row) throws(ValidationError) in try KAMCOMapping.program(row) }, deliver: deliver)
    }

    public func readReferralEvents(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let agency = self.agency
        return try await read(prefix: "referrals", after: cursor, pageSize: pageSize, columns: ["evntId", "rfrlId", "updtDt"],
                              position: ReferralCodec.position, map: { (row) throws(ValidationError) in try ReferralCodec.event(row, agency: agency) }, deliver: deliver)
    }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let answer = try await http.send(.POST, settings.baseURL + "/intake/referrals", headers: headers + [("Content-Type", "application/xml; charset=UTF-8")],
                                         body: ReferralCodec.xml(referral))
        let text = String(decoding: answer.body, as: UTF8.self)
        guard text.contains("<code>00</code>") else {
            throw AdapterError(.envelope, agency: agency, "the intake did not confirm (\(AgencyHTTP.snippet(answer.body)))")
        }
    }

    public func remapProgram(_ raw: [UInt8]) throws(ValidationError) -> ProgramRecord {
        try KAMCOMapping.program(try Self.quarantinedRow(raw, header: KAMCOMapping.columns))
    }

    public func remapReferralEvent(_ raw: [UInt8]) throws(ValidationError) -> ReferralEvent {
        try ReferralCodec.event(try Self.quarantinedRow(raw, header: Self.referralColumns), agency: agency)
    }

    /// The columns of the referral-event export, in order.
    static let referralColumns = ["evntId", "evntTy", "rfrlId", "orgnAgency", "trgtAgency", "sttsCd", "rmk", "updtDt"] + ReferralCodec.createdFields

    /// A quarantined CSV row read back under `header`.
    static func quarantinedRow(_ raw: [UInt8], header: [String]) throws(ValidationError) -> [String: String] {
        let text = header.joined(separator: ",") + "\r\n" + String(decoding: raw, as: UTF8.self) + "\r\n"
        guard let bytes = text.data(using: cp949),
              let row = (try? parseExport(Array(bytes), file: "quarantine.csv", columns: [header[0]]))?.first else {
            throw ValidationError(.malformed, "the quarantined payload is not a CSV row of the export")
        }
        return row.fields
    }

    /// Fetches an export and checks it against its published checksum (RFC 9530 `Repr-Digest`),
    /// when there is one: a file cut short at a line break would otherwise look complete.
    func download(_ path: String) async throws(AdapterError) -> AgencyHTTP.Answer {
        let answer = try await http.send(.GET, settings.baseURL + path, headers: headers)
        if let digest = answer.headers.first(name: "Repr-Digest"), let start = digest.range(of: "sha-256=:") {
            let expected = digest[start.upperBound...].prefix { $0 != ":" }
            guard Data(SHA256.hash(data: answer.body)).base64EncodedString() == expected else {
                throw AdapterError(.schema, agency: agency, "\(path) does not match its published checksum: the download was cut short or damaged")
            }
        }
        return answer
    }

    func index() async throws(AdapterError) -> (files: [String], date: AgencyTimestamp) {
        let answer = try await download("/exports/")
        let files = String(decoding: answer.body, as: UTF8.self).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard answer.body.last == UInt8(ascii: "\n"), files.allSatisfy({ $0.hasSuffix(".csv") }) else {
            throw AdapterError(.schema, agency: agency, "the export index is not a complete list of .csv files (\(AgencyHTTP.snippet(answer.body))); it may have been cut short")
        }
        guard let date = answer.date else {
            throw AdapterError(.schema, agency: agency, "the export index carries no Date header, so no signpost can be fixed on the agency's clock")
        }
        return (files, date)
    }

    private func read<Record: Sendable>(
        prefix: String, after cursor: AdapterCursor, pageSize: Int, columns: [String],
        position: ([String: String]) -> AdapterCursor?, map: ([String: String]) throws(ValidationError) -> Record,
        deliver: (AdapterPage<Record>) async throws(AdapterError) -> Void
    ) async throws(AdapterError) -> AdapterReadSummary {
        let (files, signpost) = try await index()
        var start = cursor
        var reset: String?
        if cursor.updatedAt >= signpost, cursor != .beginning {
            reset = "the stored cursor \(cursor) is not before the agency's clock \(signpost.dashed); reading everything again"
            start = .beginning
        }
        let firstDay = start == .beginning ? "00000000" : String(start.updatedAt.digits.prefix(8))
        let lastDay = String(signpost.digits.prefix(8))
        let listed = files.filter { $0.hasPrefix(prefix + "-") }.map { String($0.dropFirst(prefix.count + 1).prefix(8)) }.sorted()
        let days = listed.filter { $0 >= firstDay && $0 <= lastDay }
        if start != .beginning, let oldest = listed.first, firstDay < oldest, reset == nil {
            reset = "the agency no longer lists exports from \(firstDay) (its oldest is \(oldest)); rows changed in between and not exported again are missing until a full resync"
        }
        var current = start
        var items = 0
        for day in days {
            let rows = try await fetch("\(prefix)-\(day).csv", columns: columns)
            var taken: [AdapterItem<Record>] = []
            for row in rows.sorted(by: { (position($0.fields) ?? current) < (position($1.fields) ?? current) }) {
                if let mismatch = row.fields["columnMismatch"] {
                    taken.append(AdapterItem(position: current, raw: row.raw, mapped: .failure(ValidationError(.malformed, field: "row", "the row has \(mismatch) columns (an unquoted comma?)"))))
                    continue
                }
                guard let at = position(row.fields) else {
                    taken.append(AdapterItem(position: current, raw: row.raw, mapped: .failure(ValidationError(.malformed, field: "id", "the row has no readable id or 수정일시"))))
                    continue
                }
                guard current < at, at.updatedAt < signpost else { continue }
                let result: Result<Record, ValidationError>
                do throws(ValidationError) { result = .success(try map(row.fields)) } catch { result = .failure(error) }
                taken.append(AdapterItem(position: at, raw: row.raw, mapped: result))
                current = at
            }
            for chunkStart in stride(from: 0, to: taken.count, by: max(1, pageSize)) {
                let chunk = Array(taken[chunkStart..<min(taken.count, chunkStart + pageSize)])
                items += chunk.count
                try await deliver(AdapterPage(items: chunk, cursor: chunk.last!.position))
            }
        }
        return AdapterReadSummary(cursor: current, signpost: signpost, items: items, pages: days.count, restarts: 0, cursorReset: reset)
    }

    /// One row of an export: its fields by column name, and the row as UTF-8 CSV (its raw payload).
    public struct Row: Sendable {
        public var fields: [String: String]
        public var raw: [UInt8]
    }

    func fetch(_ file: String, columns: [String]) async throws(AdapterError) -> [Row] {
        try Self.parseExport(try await download("/exports/" + file).body, file: file, columns: columns)
    }

    /// Parses one export file: decoded from CP949, parsed with CSV.swift (RFC 4180 quoting and
    /// embedded newlines).
    /// - Throws: ``AdapterError`` `.schema` for a body that is not CP949, is cut short, or lacks a column.
    public static func parseExport(_ body: [UInt8], file: String, columns: [String]) throws(AdapterError) -> [Row] {
        let agency = AgencyID.kamco
        guard let text = String(data: Data(body), encoding: Self.cp949) else {
            throw AdapterError(.schema, agency: agency, "\(file) is not CP949 text")
        }
        // Every export ends with a line break: a file that does not was cut short.
        guard body.last == UInt8(ascii: "\n") else {
            throw AdapterError(.schema, agency: agency, "\(file) ends in the middle of a line: the download was cut short")
        }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true)
        } catch {
            throw AdapterError(.schema, agency: agency, "\(file) is not CSV (\(error))")
        }
        guard let header = reader.headerRow, columns.allSatisfy(header.contains) else {
            throw AdapterError(.schema, agency: agency, "\(file) lacks the columns \(columns.filter { !(reader.headerRow ?? []).contains($0) }.joined(separator: ", "))")
        }
        var rows: [Row] = []
        while let values = reader.next() {
            var fields: [String: String] = [:]
            for (name, value) in zip(header, values) { fields[name] = value }
            let raw = Array(values.map { $0.contains(",") || $0.contains("\"") || $0.contains("\n") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
                .joined(separator: ",").utf8)
            // A row with the wrong number of columns (an unquoted comma) would map shifted values:
            // keep only its id, so that it goes to quarantine at its place.
            rows.append(Row(fields: values.count == header.count ? fields : ["관리번호": fields["관리번호"] ?? "", "evntId": fields["evntId"] ?? "",
                                                                              "columnMismatch": "\(values.count) of \(header.count)"], raw: raw))
        }
        if let error = reader.error {
            throw AdapterError(.schema, agency: agency, "\(file) could not be parsed as CSV (\(error))")
        }
        return rows
    }
}

extension KAMCOAdapter: AgencyFormat {
    public static let agency = AgencyID.kamco

    public static func makeAdapter(settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter {
        KAMCOAdapter(settings: settings, http: http)
    }

    public static func mapProgramPage(_ body: [UInt8]) throws(AdapterError) -> [Result<ProgramRecord, ValidationError>] {
        try parseExport(body, file: "programs.csv", columns: KAMCOMapping.columns).map { row in Result { () throws(ValidationError) in try KAMCOMapping.program(row.fields) } }
    }
}
