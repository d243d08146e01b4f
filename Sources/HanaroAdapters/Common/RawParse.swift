public import HanaroCore

extension AdapterFactory {
    /// Parses and maps one native program page (or kamco daily file) without HTTP or a store:
    /// the adapter's own parsing and mapping code, for the raw-parse baseline of the ingest
    /// benchmark.
    /// - Returns: how many items mapped, and how many were refused.
    /// - Throws: ``AdapterError`` for a body that is not the agency's format.
    public static func parseProgramPage(agency: AgencyID, body: [UInt8]) throws(AdapterError) -> (mapped: Int, refused: Int) {
        var mapped = 0, refused = 0
        func count(_ work: () throws(ValidationError) -> ProgramRecord) {
            do throws(ValidationError) { _ = try work(); mapped += 1 } catch { refused += 1 }
        }
        switch agency {
        case .semas:
            for item in try SEMASAdapter.parseList(body).0 { count { () throws(ValidationError) in try SEMASMapping.program(item) } }
        case .kodit:
            for item in try KODITAdapter.parseList(body).0 { count { () throws(ValidationError) in try KODITMapping.program(item) } }
        case .ewpc:
            for item in try EWPCAdapter.parseList(body).0 { count { () throws(ValidationError) in try EWPCMapping.program(item) } }
        case .koreg:
            for item in try DataGoKrEnvelope.parse(body, agency: .koreg).items { count { () throws(ValidationError) in try KOREGMapping.program(item) } }
        case .kinfa:
            for item in try DataGoKrEnvelope.parse(body, agency: .kinfa).items { count { () throws(ValidationError) in try KINFAMapping.program(item) } }
        case .kamco:
            for row in try KAMCOAdapter.parseExport(body, file: "programs.csv", columns: KAMCOMapping.columns) {
                count { () throws(ValidationError) in try KAMCOMapping.program(row.fields) }
            }
        }
        return (mapped, refused)
    }
}
