import CSV
import Crypto
import Foundation
public import HanaroCore
import NIOHTTP1

/// 한국자산관리공사 has no API: it publishes daily CSV exports over HTTPS (CP949, no BOM, Korean
/// header, RFC 4180 quoting with embedded newlines). `GET /exports/` lists the files — a plain
/// list of names, or a web server's HTML directory index — each resolved against the index's URL
/// after redirects, as a browser does; `adapter.file_pattern` (default `programs-{date}.csv`) is
/// matched against a file's path below the index's directory and picks the program files,
/// anything else (a `.part` upload, an `archive/` folder and what it holds) is ignored. Which
/// column holds what is `adapter.columns` (see ``KAMCOMapping``). What one file holds is
/// `adapter.export`:
///
/// - `changes` (default): the programs changed that day. A read takes the files from the day of
///   its cursor (that day again: a file may be rewritten during its day) to the agency's today.
/// - `snapshot`: the agency's whole list that day. A read takes the newest file, whole, and a
///   program absent from two consecutive days' files is closed (a file read again is no second
///   absence; an empty file closes nothing).
///
/// Rows carry no update stamp; the store recognises a row it already holds by content. Referral
/// events (`referrals-YYYYMMDD.csv`, only with `adapter.referral_events_path`) carry `updtDt`.
/// Referrals go to `POST /intake/referrals` as XML. Credential: `X-KAMCO-Key`.
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
    var exportsPath: String { settings.programsPath ?? "/exports/" }

    public func check() async throws(AdapterError) -> AgencyTimestamp {
        try await index().date
    }

    public func readPrograms(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let (files, signpost) = try await index()
        let matching = Self.dated(files, pattern: settings.filePattern)
        // An index that lists files but none of the program files is kamco's folder changed, or
        // adapter.file_pattern wrong: reading nothing and saying fresh would hide either.
        guard !matching.isEmpty else {
            let shown = files.prefix(3).map(\.name).joined(separator: ", ") + (files.count > 3 ? ", …" : "")
            throw AdapterError(.schema, agency: agency, "the export index \(exportsPath) lists \(files.count) files (\(shown)) but none matches adapter.file_pattern \"\(settings.filePattern)\"; nothing was read — check adapter.file_pattern")
        }
        let dated = matching.filter { $0.day <= signpost.date }
        let snapshot = settings.export == .snapshot
        let (start, reset) = PagedReader.start(after: cursor, signpost: signpost)
        let firstDay = start == .beginning ? nil : start.updatedAt.date
        let chosen: [DatedFile] = snapshot ? Array(dated.suffix(1)) : dated.filter { file in firstDay.map { file.day >= $0 } ?? true }
        var seen: Set<String> = []
        var items = 0, served = 0, quarantined = 0
        var notes: [String] = []
        for (fileIndex, file) in chosen.enumerated() {
            let last = fileIndex == chosen.count - 1
            // An older file the index lists but the server no longer has is skipped, and said: the
            // days after it still apply. The newest file must be there.
            guard let (rows, columns) = try await programRows(file.file, required: last) else {
                notes.append("\(file.name) is listed but missing (404); skipped")
                continue
            }
            // First the order and the checks that need the whole file (ids seen, rows that cannot
            // be read), then the mapping page by page: each page is mapped while the one before
            // it is stored (the writer and the mapping overlap, as an HTTP agency's pages do).
            var entries: [Entry] = []
            for (index, row) in rows.enumerated() {
                served += 1
                if let mismatch = row.columnMismatch {
                    quarantined += 1
                    // Listed all the same: a row that cannot be read is not a program that left.
                    if let id = KAMCOMapping.id(row.fields, columns: columns) { seen.insert(id) }
                    entries.append(Entry(row: index, id: KAMCOMapping.id(row.fields, columns: columns),
                                         refusal: ValidationError(.malformed, field: "row", "the row has \(mismatch) columns (an unquoted comma?)")))
                    continue
                }
                if let encoding = row.encodingError {
                    quarantined += 1
                    // Under its id when the id itself was readable; listed all the same.
                    let id = KAMCOMapping.id(row.fields, columns: columns).flatMap { $0.contains(Self.replacement) ? nil : $0 }
                    if let id { seen.insert(id) }
                    entries.append(Entry(row: index, id: id, refusal: ValidationError(.malformed, field: "row", encoding)))
                    continue
                }
                guard let id = KAMCOMapping.id(row.fields, columns: columns) else {
                    quarantined += 1
                    entries.append(Entry(row: index, id: nil,
                                         refusal: ValidationError(.malformed, field: columns[.id] ?? "id", "the row has no id (\(columns[.id] ?? "id") is empty)")))
                    continue
                }
                // A later day's file holds the later state: a row repeated in later files is taken from the last.
                guard seen.insert(id).inserted || !snapshot else { continue }
                entries.append(Entry(row: index, id: id, refusal: nil))
            }
            let cursor = last ? AdapterCursor(updatedAt: AgencyTimestamp(day: file.day), id: "") : nil
            let size = max(1, pageSize), name = file.name
            let chunks = stride(from: 0, to: max(entries.count, 1), by: size).map { entries[min($0, entries.count) ..< min(entries.count, $0 + size)] }
            var page = Self.items(chunks[0], rows: rows, columns: columns, file: name)
            for position in chunks.indices {
                let final = last && position == chunks.count - 1
                async let next: [AdapterItem<ProgramRecord>]? = position + 1 < chunks.count ? Self.items(chunks[position + 1], rows: rows, columns: columns, file: name) : nil
                if !page.isEmpty || final { try await deliver(AdapterPage(items: page, cursor: final ? cursor : nil)) }
                if let mapped = await next { page = mapped }
            }
            items += entries.count
        }
        var note = reset
        if !snapshot, let firstDay, let oldest = dated.first?.day, firstDay < oldest, reset == nil {
            note = "the agency no longer lists exports from \(firstDay) (its oldest is \(oldest)); rows changed in between and not exported again are missing until a full resync"
        }
        if !notes.isEmpty { note = ([note].compactMap { $0 } + notes).joined(separator: "; ") }
        // A snapshot counts (for closing absent programs) once per file: re-reading the same day's
        // file is no second absence.
        let newSnapshot = snapshot && chosen.last.map { file in firstDay.map { file.day > $0 } ?? true } == true
        return AdapterReadSummary(cursor: chosen.last.map { AdapterCursor(updatedAt: AgencyTimestamp(day: $0.day), id: "") } ?? cursor,
                                  signpost: signpost, isSnapshot: newSnapshot, isComplete: true, served: served, items: items, quarantined: quarantined,
                                  pages: chosen.count, restarts: 0, listed: newSnapshot ? seen : [], cursorReset: note)
    }

    public func readReferralEvents(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        guard settings.readsReferralEvents else {
            throw AdapterError(.envelope, agency: agency, "no referral-event export is configured for kamco (adapter.referral_events_path)")
        }
        let (files, signpost) = try await index()
        let (start, reset) = PagedReader.start(after: cursor, signpost: signpost)
        let firstDay = start == .beginning ? nil : start.updatedAt.date
        let days = Self.dated(files, pattern: "referrals-{date}.csv").filter { file in file.day <= signpost.date && (firstDay.map { file.day >= $0 } ?? true) }
        var read = ListRead(.incremental(after: start, signpost: signpost), pageSize: Int.max)
        var items = 0
        for file in days {
            let answer = try await download(file.file.url)
            let rows = try Self.parseExport(answer.body, file: file.name, columns: ["evntId"], framed: answer.framed)
            let decisions = read.decideAll(rows.map { ListRead.Served(id: NativeCleaning.present($0.fields["evntId"]), stamp: ReferralCodec.stamp($0.fields)) })
            var out: [AdapterItem<ReferralEvent>] = []
            for (index, (row, decision)) in zip(rows, decisions).enumerated() {
                let location = "\(file.name), row \(index + 1)"
                let raw = Self.csvRow(row.values)
                switch decision {
                case .skip: continue
                case .quarantine(let reason):
                    out.append(AdapterItem(nativeID: NativeCleaning.present(row.fields["evntId"]), location: location, raw: raw,
                                           mapped: .failure(ValidationError(.malformed, field: "updtDt", reason))))
                case .take:
                    out.append(AdapterItem(nativeID: row.fields["evntId"], location: location, raw: raw,
                                           mapped: Result(mapping: { () throws(ValidationError) in
                        if let encoding = row.encodingError { throw ValidationError(.malformed, field: "row", encoding) }
                        return try ReferralCodec.event(row.fields, agency: .kamco)
                    })))
                }
            }
            for chunkStart in stride(from: 0, to: out.count, by: max(1, pageSize)) {
                try await deliver(AdapterPage(items: Array(out[chunkStart..<min(out.count, chunkStart + pageSize)]), cursor: nil))
            }
            items += out.count
        }
        let final = AdapterCursor(updatedAt: signpost, id: "")
        try await deliver(AdapterPage(items: [], cursor: final))
        return AdapterReadSummary(cursor: final, signpost: signpost, isSnapshot: false, isComplete: true, served: read.served, items: items,
                                  quarantined: read.quarantined, pages: days.count, restarts: 0, cursorReset: reset)
    }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let answer = try await http.send(.POST, settings.baseURL + (settings.intakePath ?? "/intake/referrals"), headers: headers + [("Content-Type", "application/xml; charset=UTF-8")],
                                         body: ReferralCodec.xml(referral))
        let text = String(decoding: answer.body, as: UTF8.self)
        guard text.contains("<code>00</code>") else {
            throw AdapterError(.envelope, agency: agency, "the intake did not confirm (\(AgencyHTTP.snippet(answer.body)))")
        }
    }

    public func remapProgram(_ raw: [UInt8]) throws(ValidationError) -> ProgramRecord {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(raw))) as? [String: Any] else {
            throw ValidationError(.malformed, "the quarantined payload is not a CSV row kept as a JSON object")
        }
        let row = object.compactMapValues { $0 as? String }
        let columns: [KAMCOMapping.Field: String]
        do { columns = try KAMCOMapping.resolve(header: Array(row.keys), configured: settings.columns, file: "the quarantined row") } catch {
            throw ValidationError(.malformed, error.message)
        }
        return try KAMCOMapping.program(row, columns: columns)
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

    /// Fetches a file (an absolute URL) and checks it against its published checksum (RFC 9530
    /// `Repr-Digest`), when there is one: a file cut short at a line break would otherwise look
    /// complete.
    func download(_ url: String) async throws(AdapterError) -> AgencyHTTP.Answer {
        let answer = try await http.send(.GET, url, headers: headers)
        if let digest = answer.headers.first(name: "Repr-Digest"), let start = digest.range(of: "sha-256=:") {
            let expected = digest[start.upperBound...].prefix { $0 != ":" }
            guard Data(SHA256.hash(data: answer.body)).base64EncodedString() == expected else {
                throw AdapterError(.schema, agency: agency, "\(AgencyHTTP.path(of: url)) does not match its published checksum: the download was cut short or damaged")
            }
        }
        return answer
    }

    /// The export index: the files it lists and the agency's clock.
    func index() async throws(AdapterError) -> (files: [ExportFile], date: AgencyTimestamp) {
        let answer = try await download(settings.baseURL + exportsPath)
        guard let date = answer.date else {
            throw AdapterError(.schema, agency: agency, "the export index carries no Date header, so no signpost can be fixed on the agency's clock")
        }
        let files = Self.files(inIndex: answer.body, at: answer.url)
        // A maintenance page (`시스템 점검 중`) answered with 200, or a redirect to some other
        // document, lists nothing: that is not an agency that published no files.
        guard !files.isEmpty else {
            throw AdapterError(.schema, agency: agency, "the export index \(exportsPath) lists no files (\(AgencyHTTP.snippet(answer.body)) from \(AgencyHTTP.path(of: answer.url))): not a directory index or list of the exports — a maintenance page, or adapter.programs_path pointing elsewhere? Nothing was read; retrying with backoff")
        }
        return (files, date)
    }

    /// A file the export index lists: its path below the index's directory (what
    /// `adapter.file_pattern` is matched against: `programs-20261201.csv`,
    /// `archive/programs-20261101.csv`) and the absolute URL it is fetched from.
    struct ExportFile: Sendable, Hashable {
        var name: String
        var url: String
    }

    /// A listed file matching a pattern, with its day.
    struct DatedFile: Sendable, Hashable {
        var file: ExportFile
        var day: LocalDate
        var name: String { file.name }
    }

    /// The files an index lists: the `href`s of an HTML directory index (Apache, nginx, Python's
    /// `http.server`), or one name per line of a plain list, each resolved against `indexURL` —
    /// the URL that answered, after redirects — by RFC 3986 §5, as a browser resolves them
    /// (`/exports` redirected to `/exports/` makes `programs-20261201.csv` resolve to
    /// `/exports/programs-20261201.csv`). Only what lies below the index's directory on the same
    /// scheme, host and port is kept: a parent link (`../`), a sort link (`?C=N;O=D`), an
    /// absolute link elsewhere are not export files.
    static func files(inIndex body: [UInt8], at indexURL: String) -> [ExportFile] {
        guard let base = URL(string: indexURL), let origin = URLComponents(url: base, resolvingAgainstBaseURL: false) else { return [] }
        let basePath = origin.percentEncodedPath
        let directory = basePath.lastIndex(of: "/").map { String(basePath[...$0]) } ?? "/"
        let text = String(decoding: body, as: UTF8.self)
        let references: [String]
        if text.range(of: "<a ", options: .caseInsensitive) != nil || text.range(of: "<html", options: .caseInsensitive) != nil {
            references = text.matches(of: /(?i)href\s*=\s*"([^"]+)"/).map { NativeCleaning.decodingEntities(String($0.1)) }
        } else if text.first(where: { !$0.isWhitespace }) == "<" {
            // Markup that is not an HTML page (an XML document a redirect led to): no list of names.
            references = []
        } else {
            // A plain list names files as they are: encode what a URL cannot hold as such.
            references = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                .map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? $0 }
        }
        var seen: Set<String> = []
        return references.compactMap { reference -> ExportFile? in
            guard let resolved = URL(string: reference, relativeTo: base)?.absoluteURL.standardized,
                  let parts = URLComponents(url: resolved, resolvingAgainstBaseURL: false),
                  parts.scheme?.lowercased() == origin.scheme?.lowercased(), parts.host?.lowercased() == origin.host?.lowercased(),
                  parts.port == origin.port, parts.percentEncodedQuery == nil else { return nil }
            let path = parts.percentEncodedPath
            guard path.hasPrefix(directory), path.count > directory.count else { return nil }
            let relative = String(path.dropFirst(directory.count))
            guard let name = relative.removingPercentEncoding, !name.split(separator: "/").contains("..") else { return nil }
            var url = parts
            url.fragment = nil
            guard let absolute = url.string, seen.insert(absolute).inserted else { return nil }
            return ExportFile(name: name, url: absolute)
        }
    }

    /// The files matching `pattern` (`{date}` = `yyyyMMdd`) by their path below the index's
    /// directory, with their day, oldest first.
    static func dated(_ files: [ExportFile], pattern: String) -> [DatedFile] {
        let parts = pattern.components(separatedBy: "{date}")
        guard parts.count == 2 else { return [] }
        return files.compactMap { file -> DatedFile? in
            let name = file.name
            guard name.hasPrefix(parts[0]), name.hasSuffix(parts[1]), name.count == parts[0].count + 8 + parts[1].count else { return nil }
            let digits = String(name.dropFirst(parts[0].count).prefix(8))
            guard digits.allSatisfy(\.isNumber), let day = LocalDate(parsing: digits) else { return nil }
            return DatedFile(file: file, day: day)
        }.sorted { $0.day < $1.day }
    }

    /// A row of an export in the order it is delivered: its id, or why it is refused before mapping.
    struct Entry: Sendable {
        var row: Int
        var id: String?
        var refusal: ValidationError?
    }

    /// The items of one page: each row mapped, or refused with its raw payload (one CSV row as a
    /// canonical JSON object) and the reason.
    static func items(_ entries: ArraySlice<Entry>, rows: [Row], columns: [KAMCOMapping.Field: String], file: String) -> [AdapterItem<ProgramRecord>] {
        entries.map { entry in
            let row = rows[entry.row], location = "\(file), row \(entry.row + 1)"
            if let refusal = entry.refusal {
                return AdapterItem(nativeID: entry.id, location: location, raw: JSONItems.canonical(row.fields), mapped: .failure(refusal))
            }
            let result = Result<ProgramRecord, ValidationError>(mapping: { () throws(ValidationError) in try KAMCOMapping.program(row.fields, columns: columns) })
            return AdapterItem(nativeID: entry.id, location: location, raw: result.isFailure ? JSONItems.canonical(row.fields) : [], mapped: result)
        }
    }

    /// A program export's rows and which column holds what; nil when the file is not there and
    /// not `required`.
    func programRows(_ file: ExportFile, required: Bool = true) async throws(AdapterError) -> ([Row], [KAMCOMapping.Field: String])? {
        let answer: AgencyHTTP.Answer
        do {
            answer = try await download(file.url)
        } catch where !required && error.httpStatus == 404 {
            return nil
        }
        let rows = try Self.parseExport(answer.body, file: file.name, columns: [], framed: answer.framed)
        let header = rows.first.map { Array($0.header) } ?? []
        if rows.isEmpty { return ([], [:]) }
        return (rows, try KAMCOMapping.resolve(header: header, configured: settings.columns, file: file.name))
    }

    /// One row of an export: the file's header, the row's values and its fields by column name.
    public struct Row: Sendable {
        public var header: [String]
        public var values: [String]
        public var fields: [String: String]
        /// Set when the row has another number of values than the header (an unquoted comma):
        /// its fields would be shifted, so it goes to quarantine.
        public var columnMismatch: String?
        /// Set when the row held bytes that are not CP949 (read as U+FFFD): it goes to quarantine
        /// with this reason, and the rest of the file is read.
        public var encodingError: String?
    }

    /// A row as CSV text (a referral event's raw payload).
    static func csvRow(_ values: [String]) -> [UInt8] {
        Array(values.map { $0.contains(",") || $0.contains("\"") || $0.contains("\n") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
            .joined(separator: ",").utf8)
    }

    /// Parses one export file: decoded from CP949, parsed with CSV.swift (RFC 4180 quoting and
    /// embedded newlines).
    ///
    /// A row holding bytes that are not CP949 is kept with ``Row/encodingError`` set (the bytes
    /// read as U+FFFD), so that one bad row is quarantined under its row number and not the whole
    /// file refused. The last line may lack its line break (RFC 4180 §2.2) when the protocol
    /// proved the body whole (`framed`: a `Content-Length` it matched, chunked encoding, HTTP/2);
    /// a body that ended where the connection closed must end with one, or it may have been cut
    /// at any byte.
    /// - Throws: ``AdapterError`` `.schema` for a header that is not CP949, a body that may have
    ///   been cut short, one that is not CSV, or one that lacks a required column.
    public static func parseExport(_ body: [UInt8], file: String, columns: [String], framed: Bool = false) throws(AdapterError) -> [Row] {
        let agency = AgencyID.kamco
        guard framed || body.isEmpty || body.last == UInt8(ascii: "\n") else {
            throw AdapterError(.schema, agency: agency, "\(file) ends in the middle of a line, and its length was not given (no Content-Length or chunked encoding): the download may have been cut short; retrying with backoff")
        }
        let (text, lossy) = decodeCP949(body)
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true)
        } catch {
            throw AdapterError(.schema, agency: agency, "\(file) is not CSV (\(error))")
        }
        guard let header = reader.headerRow?.map({ $0.trimmingCharacters(in: .whitespaces) }) else {
            throw AdapterError(.schema, agency: agency, "\(file) is not CSV: it has no header row")
        }
        if lossy, header.contains(where: { $0.contains(replacement) }) {
            let utf8 = String(validating: body, as: UTF8.self) != nil
            throw AdapterError(.schema, agency: agency, "\(file) is not CP949 text: its header holds bytes that are not CP949\(utf8 ? " (the file is UTF-8; kamco exports CP949)" : "")")
        }
        guard columns.allSatisfy(header.contains) else {
            throw AdapterError(.schema, agency: agency, "\(file) lacks the columns \(columns.filter { !header.contains($0) }.joined(separator: ", "))")
        }
        var rows: [Row] = []
        while let values = reader.next() {
            if values.count == 1, values[0].trimmingCharacters(in: .whitespaces).isEmpty { continue }
            var fields: [String: String] = [:]
            for (name, value) in zip(header, values) { fields[name] = value }
            let undecodable = lossy && values.contains { $0.contains(replacement) }
            rows.append(Row(header: header, values: values, fields: fields,
                            columnMismatch: values.count == header.count ? nil : "\(values.count) of \(header.count)",
                            encodingError: undecodable ? "row \(rows.count + 1) of \(file) holds bytes that are not CP949 text (read as U+FFFD); the rest of the file was read" : nil))
        }
        if let error = reader.error {
            throw AdapterError(.schema, agency: agency, "\(file) could not be parsed as CSV (\(error))")
        }
        return rows
    }

    /// U+FFFD, what a byte that is not CP949 is read as.
    static let replacement = "\u{FFFD}"

    /// A body's text from CP949, and whether some bytes were not CP949 (then read as U+FFFD, line
    /// by line: a line break is never part of a CP949 character, so a bad byte spoils only its line).
    static func decodeCP949(_ body: [UInt8]) -> (text: String, lossy: Bool) {
        if let text = String(data: Data(body), encoding: cp949) { return (text, false) }
        var text = ""
        var lineStart = 0
        while lineStart < body.count {
            let lineEnd = body[lineStart...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? body.count
            let line = body[lineStart..<lineEnd]
            text += String(data: Data(line), encoding: cp949) ?? lossyCP949(line)
            lineStart = lineEnd
        }
        return (text, true)
    }

    /// One line of CP949 with every byte that does not begin a CP949 character read as U+FFFD.
    private static func lossyCP949(_ line: ArraySlice<UInt8>) -> String {
        var text = "", index = line.startIndex
        while index < line.endIndex {
            let byte = line[index]
            if byte < 0x80 {
                text.unicodeScalars.append(Unicode.Scalar(byte))
                index += 1
            } else if (0x81...0xFE).contains(byte), index + 1 < line.endIndex,
                      let pair = String(data: Data([byte, line[index + 1]]), encoding: cp949), pair.count == 1 {
                text += pair
                index += 2
            } else {
                text += replacement
                index += 1
            }
        }
        return text
    }
}

extension KAMCOAdapter: AgencyFormat {
    public static let agency = AgencyID.kamco

    public static func makeAdapter(settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter {
        KAMCOAdapter(settings: settings, http: http)
    }

    public static func mapProgramPage(_ body: [UInt8]) throws(AdapterError) -> [Result<ProgramRecord, ValidationError>] {
        let rows = try parseExport(body, file: "programs.csv", columns: [], framed: true)
        guard let header = rows.first?.header else { return [] }
        let columns = try KAMCOMapping.resolve(header: header, configured: [:], file: "programs.csv")
        return rows.map { row in Result { () throws(ValidationError) in try KAMCOMapping.program(row.fields, columns: columns) } }
    }
}
