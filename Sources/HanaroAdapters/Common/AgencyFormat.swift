public import HanaroCore

/// What Hanaro knows of one institution's native format, declared in that agency's folder: how to
/// make its adapter, and how to parse and map one page of its program list without HTTP (the
/// adapter's own code — its reads use it, and so do the ingest benchmark's baseline and the fuzz
/// targets).
public protocol AgencyFormat {
    /// The institution.
    static var agency: AgencyID { get }
    /// The adapter speaking the agency's API.
    static func makeAdapter(settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter
    /// Parses one answer of the program list (or one daily export) and maps each item.
    /// - Throws: ``AdapterError`` for a body that is not the agency's format.
    static func mapProgramPage(_ body: [UInt8]) throws(AdapterError) -> [Result<ProgramRecord, ValidationError>]
}

/// Every institution's format: a list, each entry declared in its own folder.
public enum AgencyFormats {
    public static let all: [any AgencyFormat.Type] = [
        SEMASAdapter.self, KOREGAdapter.self, KODITAdapter.self, KAMCOAdapter.self, KINFAAdapter.self, EWPCAdapter.self,
    ]

    /// The format of `agency` (every agency has exactly one; a test checks it).
    public static func format(for agency: AgencyID) -> any AgencyFormat.Type {
        guard let format = all.first(where: { $0.agency == agency }) else {
            preconditionFailure("no AgencyFormat declared for \(agency.rawValue)")
        }
        return format
    }

    /// The adapter of `agency`.
    public static func makeAdapter(for agency: AgencyID, settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter {
        format(for: agency).makeAdapter(settings: settings, http: http)
    }
}

extension Result where Failure == ValidationError {
    /// Whether the mapping failed.
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }

    /// The outcome of a throwing mapping.
    init(mapping: () throws(ValidationError) -> Success) {
        do throws(ValidationError) { self = .success(try mapping()) } catch { self = .failure(error) }
    }
}
