public import HanaroCore
public import HanaroStore

/// The one way a quarantined item is tried again — an admin's `hanaro quarantine retry ID`, and
/// the adapter's own retry of referral status events that arrived before their referral.
///
/// What a retry does depends on who delivered the item: a peer's version is applied again as it
/// came; an adapter's native item is mapped again by that agency's adapter (the mapping or the
/// data may have been fixed) and recorded as the agency's edit. An item that applies is marked
/// released; one still refused stays held, with the reason.
public struct QuarantineRetry: Sendable {
    let replica: Replica
    /// This node's agency: personal fields it may not hold are withheld from a retried version.
    let localAgency: AgencyID
    /// The adapters this node runs, by agency.
    let adapters: [AgencyID: any AgencyAdapter]

    public init(replica: Replica, localAgency: AgencyID, adapters: [AgencyID: any AgencyAdapter]) {
        self.replica = replica
        self.localAgency = localAgency
        self.adapters = adapters
    }

    /// Retries one held item.
    /// - Throws: ``AdminError`` `.notFound` (no such item), `.conflict` (not held, or still
    ///   refused, with the reason), or the store's failure.
    public func retry(id: Int64) async throws(AdminError) {
        let entry: QuarantineEntry?
        let payload: [UInt8]?
        do {
            entry = try await replica.quarantineEntry(id: id)
            payload = entry?.state == .held ? try await replica.quarantinedPayload(id: id) : nil
        } catch {
            throw AdminError(.failed, "cannot read quarantined item \(id): \(error.message)")
        }
        guard let entry else { throw AdminError(.notFound, "no quarantined item \(id); `hanaro quarantine list` shows them") }
        guard let payload else { throw AdminError(.conflict, "item \(id) is \(entry.state.rawValue), not held") }
        if let refusal = try await apply(entry, payload: payload) {
            throw AdminError(.conflict, "still refused: \(refusal)")
        }
    }

    /// Retries the referral events of `agency`'s adapter held in quarantine whose referral is now
    /// in the replica (a status change that came before its referral).
    /// - Returns: how many were released.
    /// - Throws: ``AdminError`` `.failed` when the store fails.
    @discardableResult
    public func retryHeldReferralEvents(of agency: AgencyID) async throws(AdminError) -> Int {
        var released = 0
        do {
            let held = try await replica.quarantine(state: .held, source: .adapter(agency), limit: 200)
            for entry in held where entry.recordKey?.hasPrefix("referral/") == true {
                guard let key = entry.recordKey.flatMap({ try? RecordKey(parsing: $0) }), try await replica.record(key) != nil,
                      let payload = try await replica.quarantinedPayload(id: entry.id) else { continue }
                if try await apply(entry, payload: payload) == nil { released += 1 }
            }
        } catch let error as AdminError {
            throw error
        } catch {
            throw AdminError(.failed, "cannot retry held referral events of \(agency.rawValue): \(error)")
        }
        return released
    }

    /// Retries the versions held for a clock skew (stamped further ahead of this node's clock than
    /// allowed): those whose stamp the clock now allows apply and are released.
    /// - Returns: how many were released, and how many are still ahead.
    /// - Throws: ``AdminError`` `.failed` when the store fails.
    @discardableResult
    public func retryClockSkewed(limit: Int = 1_000) async throws(AdminError) -> (released: Int, stillAhead: Int) {
        var released = 0, ahead = 0
        do {
            for entry in try await replica.quarantine(state: .held, code: ValidationError.Code.clockSkew.rawValue, limit: limit) {
                guard let payload = try await replica.quarantinedPayload(id: entry.id) else { continue }
                if try await apply(entry, payload: payload) == nil { released += 1 } else { ahead += 1 }
            }
        } catch let error as AdminError {
            throw error
        } catch {
            throw AdminError(.failed, "cannot retry clock-skewed versions: \(error)")
        }
        return (released, ahead)
    }

    /// Applies a held item again; marks it released when it applied.
    /// - Returns: nil when it applied, else why it is still refused.
    private func apply(_ entry: QuarantineEntry, payload: [UInt8]) async throws(AdminError) -> String? {
        do {
            let outcomes: [WriteOutcome]
            if let agency = entry.source.adapterAgency, entry.source == .adapter(agency, .outbound) {
                // A referral the agency's intake refused: deliver its current state again.
                guard let adapter = adapters[agency] else { return "this node no longer runs \(agency.rawValue)'s adapter" }
                guard let key = entry.recordKey.flatMap({ try? RecordKey(parsing: $0) }) else { return "the held item names no referral" }
                if let problem = await AdapterIngest(adapter: adapter, replica: replica).redeliver(key) { return problem }
                try await replica.releaseQuarantined(id: entry.id)
                return nil
            }
            if let agency = entry.source.adapterAgency {
                guard let adapter = adapters[agency] else {
                    return "this node no longer runs \(agency.rawValue)'s adapter, which delivered the item"
                }
                let edits: [AuthoredEdit]
                do {
                    if entry.recordKey?.hasPrefix("referral/") == true {
                        edits = AdapterIngest.edits(for: try adapter.remapReferralEvent(payload), agency: agency, raw: payload)
                    } else {
                        let record = try adapter.remapProgram(payload)
                        edits = [AuthoredEdit(key: record.key, edit: .publishProgram(record), raw: payload)]
                    }
                } catch {
                    return error.description
                }
                outcomes = try await replica.author(edits, by: agency, source: entry.source)
            } else {
                outcomes = try await replica.apply(encoded: [payload], from: entry.source, withholdingFor: localAgency)
            }
            for case .quarantined(let error) in outcomes { return error.description }
            try await replica.releaseQuarantined(id: entry.id)
            return nil
        } catch {
            throw AdminError(.failed, "retrying quarantined item \(entry.id) failed: \(error.message)")
        }
    }
}
