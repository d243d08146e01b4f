/// The seam between Hanaro and one institution's own API, modelled on the connector contracts of
/// Airbyte and Singer: `check`, incremental `read` from a cursor, and `write` to the agency.
///
/// A read is incremental where the agency's format carries a per-item update stamp — *signposted*:
/// the agency's clock when the read starts is the upper bound, and what changes while the read
/// pages is taken by the next read — or a whole snapshot where it carries none (``ListRead``).
/// Each page is handed to `deliver`, which stores its records (and, with the last page of a
/// complete read, the new cursor) in one transaction; a page the store refuses stops the read, so
/// nothing is skipped.
///
/// A record that cannot be mapped is an ``AdapterItem`` carrying the error: it goes to quarantine
/// with its raw payload and the page goes on. Only envelope-level failures throw.
public protocol AgencyAdapter: Sendable {
    /// The institution this adapter speaks to.
    var agency: AgencyID { get }

    /// Where a snapshot agency's adapter remembers its unchanged pages (nil: it does not).
    var snapshotMemo: SnapshotPageMemo? { get }

    /// Checks reachability and credentials with one cheap request.
    /// - Returns: the agency's clock (the `Date` of its answer).
    /// - Throws: ``AdapterError`` saying what is wrong (unreachable, TLS, credentials, envelope).
    func check() async throws(AdapterError) -> AgencyTimestamp

    /// Reads the programs changed after `cursor`, page by page, up to a signpost fixed at the start.
    /// A cursor after the signpost (from the future: the agency's data or clock went back) is set
    /// aside and the read starts from the beginning; the summary says so.
    /// - Throws: ``AdapterError`` for an envelope-level failure, or what `deliver` throws; pages
    ///   delivered before it stay stored with their cursor.
    func readPrograms(
        after cursor: AdapterCursor, pageSize: Int,
        deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void
    ) async throws(AdapterError) -> AdapterReadSummary

    /// Reads the referral events (new referrals from the agency's counsellors, status changes)
    /// after `cursor`, with the same guarantees as ``readPrograms(after:pageSize:deliver:)``.
    func readReferralEvents(
        after cursor: AdapterCursor, pageSize: Int,
        deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void
    ) async throws(AdapterError) -> AdapterReadSummary

    /// Writes a referral to the agency's intake (an upsert keyed by the referral: delivering the
    /// same state twice is harmless).
    /// - Throws: ``AdapterError``; the caller keeps the referral pending and retries.
    func deliver(_ referral: ReferralDelivery) async throws(AdapterError)

    /// Maps a quarantined native program item again (its raw payload as the adapter kept it): an
    /// admin's retry after the mapping or the data was fixed.
    /// - Throws: ``ValidationError`` when it still cannot be mapped.
    func remapProgram(_ raw: [UInt8]) throws(ValidationError) -> ProgramRecord

    /// Maps a quarantined native referral event again (a status change held until its referral
    /// arrived).
    /// - Throws: ``ValidationError`` when it still cannot be mapped.
    func remapReferralEvent(_ raw: [UInt8]) throws(ValidationError) -> ReferralEvent
}

extension AgencyAdapter {
    public var snapshotMemo: SnapshotPageMemo? { nil }
}
