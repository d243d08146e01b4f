import Crypto
import Foundation
import HanaroCore
import HanaroStore
import Hummingbird

extension AgencyAPI {
    /// `POST /v1/referrals`: a referral from this node's agency. The consent record is required
    /// (개인정보 제3자 제공 동의: scope, recipient, purpose, retention). Repeating a create with the
    /// same id and the same content returns the referral made the first time (200), never a
    /// second one; the same id with other content is refused (409), whatever the order in which
    /// concurrent creates arrive. Without an id, an `Idempotency-Key` header names the referral
    /// instead (the id is derived from the client and the key), so a retried create without an
    /// id is recognised the same way.
    func createReferral(_ body: ReferralCreateRequest, client: APIToken, idempotencyKey: String? = nil) async throws -> Response {
        let target = try Self.agency(body.target, field: "target")
        guard target != agency else {
            throw Problem.unprocessable("a referral goes to another agency; this node acts for \(agency.rawValue)", field: "target")
        }
        guard let consentBody = body.consent else {
            throw Problem(422, "consent-missing", "The owner's consent is required",
                          "record the owner's consent (개인정보 제3자 제공 동의) in consent: scope, recipient, purpose, retain_until",
                          errors: [.init(field: "consent", reason: "required")])
        }
        var errors: [Problem.FieldError] = []
        // The names a referral is known by: printable text, not blank.
        for (field, text) in [("business.trade_name", body.business.tradeName), ("centre", body.centre)] {
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                errors.append(.init(field: field, reason: "required, not blank"))
            } else if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
                errors.append(.init(field: field, reason: "holds a control or invisible formatting character (NUL, bidi overrides); send plain text"))
            }
        }
        let recipient = AgencyID(rawValue: consentBody.recipient)
        if recipient == nil { errors.append(.init(field: "consent.recipient", reason: "\"\(consentBody.recipient.prefix(40))\" is no agency")) }
        if let recipient, recipient != target { errors.append(.init(field: "consent.recipient", reason: "consent names \(recipient.rawValue) but the referral goes to \(target.rawValue)")) }
        if consentBody.scope.isEmpty { errors.append(.init(field: "consent.scope", reason: "name at least one item the owner agreed to share")) }
        if consentBody.purpose.trimmingCharacters(in: .whitespaces).isEmpty { errors.append(.init(field: "consent.purpose", reason: "required")) }
        let retainUntil = LocalDate(parsing: consentBody.retainUntil)
        let today = LocalDate.inKorea(secondsSince1970: Int64(Date().timeIntervalSince1970))
        if retainUntil == nil {
            errors.append(.init(field: "consent.retain_until", reason: "must be a date YYYY-MM-DD"))
        } else if let retainUntil, retainUntil < today {
            // A consent whose retention has ended allows no transfer: the fields would be due for deletion on arrival.
            errors.append(.init(field: "consent.retain_until", reason: "the retention period ended on \(retainUntil); it must be today (\(today)) or later"))
        }
        var businessNumber: BusinessNumber?
        do { businessNumber = try BusinessNumber(body.business.businessNumber) } catch { errors.append(.init(field: "business.business_number", reason: error.message)) }
        var region: RegionCode?, industry: KSICCode?
        if let text = body.business.region {
            do { region = try RegionCode(text) } catch { errors.append(.init(field: "business.region", reason: error.message)) }
        }
        if let text = body.business.ksic {
            do { industry = try KSICCode(text) } catch { errors.append(.init(field: "business.ksic", reason: error.message)) }
        }
        var categories: [SupportCategory] = []
        for name in body.needs?.categories ?? [] {
            guard let category = SupportCategory(codeOrName: name) else {
                errors.append(.init(field: "needs.categories", reason: "\"\(name.prefix(40))\" is no 지원분야"))
                continue
            }
            categories.append(category)
        }
        // Checked before anything names them: the id goes into the record key, audit entries
        // and answers, and a 주민등록번호 must never be stored or echoed.
        if let id = body.id, ResidentNumberDetector.containsResidentNumber(id) {
            throw Problem.unprocessable("the id contains a 주민등록번호; it must never be stored — give the referral another id", field: "id")
        }
        if let text = body.program, ResidentNumberDetector.containsResidentNumber(text) {
            throw Problem.unprocessable("program contains a 주민등록번호; name a program as <agency>/<program id>", field: "program")
        }
        var program: RecordKey?
        if let text = body.program {
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            if parts.count == 2, let owner = AgencyID(rawValue: parts[0]) {
                program = RecordKey(kind: .program, owner: owner, localID: parts[1])
            } else {
                errors.append(.init(field: "program", reason: "must be <agency>/<program id>, e.g. kodit/KODIT-000001"))
            }
        }
        guard errors.isEmpty, let recipient, let retainUntil, let businessNumber else {
            throw Problem(422, "invalid-referral", "The referral has invalid values", errors.map { "\($0.field): \($0.reason)" }.joined(separator: "; "), errors: errors)
        }
        if let idempotencyKey, body.id == nil {
            guard (1...255).contains(idempotencyKey.utf8.count), idempotencyKey.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw Problem.badRequest("Idempotency-Key holds 1 to 255 visible ASCII characters (a UUID is usual)", field: "Idempotency-Key")
            }
            if ResidentNumberDetector.containsResidentNumber(idempotencyKey) {
                throw Problem.unprocessable("Idempotency-Key contains a 주민등록번호; use a random key such as a UUID", field: "Idempotency-Key")
            }
        }
        if let id = body.id, let problem = Self.clientIDProblem(Self.ownLocalID(id, agency: agency)) { throw Problem.unprocessable(problem, field: "id") }
        let localID = body.id.map { Self.ownLocalID($0, agency: agency) } ?? idempotencyKey.map { Self.referralID(agency: agency, client: client.name, idempotencyKey: $0) }
            ?? "\(agency.rawValue.uppercased())-API-\(UUID().uuidString.prefix(13).lowercased())"
        let key = RecordKey(kind: .referral, owner: agency, localID: localID)
        do { try key.validate() } catch { throw Problem.unprocessable(error.message, field: "id") }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let draft = ReferralDraft(
            referralID: localID, target: target, originCentre: body.centre,
            business: BusinessInfo(tradeName: body.business.tradeName, businessNumber: businessNumber, address: body.business.address ?? "", region: region, industry: industry),
            needs: ReferralNeeds(categories: categories, summary: body.needs?.summary ?? ""), program: program,
            consent: Consent(scope: consentBody.scope, recipient: recipient, purpose: consentBody.purpose, retainUntil: retainUntil,
                             recordedAt: HLCTimestamp(millisecondsSince1970: now)),
            personal: body.contact.map { PersonalFields(ownerName: $0.ownerName, phone: $0.phone) })
        if let existing = try await replica.record(key)?.referral {
            return try await repeatedCreate(draft, existing: existing, key: key, client: client, keyed: body.id == nil)
        }
        guard try await replica.author(.createReferral(draft), key: key, by: agency) != nil else {
            // Another create of this id committed first (concurrent requests): the same rule.
            guard let existing = try await replica.record(key)?.referral else { throw Problem.notFound("no referral \(localID)") }
            return try await repeatedCreate(draft, existing: existing, key: key, client: client, keyed: body.id == nil)
        }
        return try await referralResponse(key, client: client, status: 201)
    }

    /// A create of a referral that exists: the same content is a retry (200, the referral as it
    /// stands); other content is refused (409), and the referral stays as first created.
    func repeatedCreate(_ draft: ReferralDraft, existing: ReferralRecord, key: RecordKey, client: APIToken, keyed: Bool) async throws -> Response {
        guard draft.isCreated(as: existing) else {
            let detail = keyed
                ? "this Idempotency-Key already created referral \(key.localID) with other content; send the same content to retry, or a new key for a new referral"
                : "referral \(key.localID) already exists with other content; send the same content to retry, choose another id for a new referral, or PATCH it"
            throw Problem(409, "id-taken", "The referral id is taken", detail)
        }
        return try await referralResponse(key, client: client, status: 200)
    }

    /// A client's id for its referral without this agency's prefix: `semas:R-1`, the id the API
    /// answers with, names the same referral as `R-1` (a client that sends back what it was given
    /// must not make a second referral `semas:semas:R-1`).
    static func ownLocalID(_ id: String, agency: AgencyID) -> String {
        id.hasPrefix(agency.rawValue + ":") ? String(id.dropFirst(agency.rawValue.count + 1)) : id
    }

    /// Why a client's referral id is refused, or nil. It goes into paths (`/v1/referrals/{id}`)
    /// and `origin:local-id` names: no `:` `/` `?` `#` `%`, no white space at either end.
    static func clientIDProblem(_ id: String) -> String? {
        if id.isEmpty || id.utf8.count > 200 { return "must be 1 to 200 bytes" }
        if let bad = id.first(where: { ":/?#%".contains($0) }) { return "must not hold \"\(bad)\" (ids appear in paths and as origin:id)" }
        if id.first!.isWhitespace || id.last!.isWhitespace { return "must not begin or end with white space" }
        return nil
    }

    /// The id a create without one gets from its `Idempotency-Key`: the same for the same client
    /// and key, so a retry finds the referral the first attempt made. Hashed, so the key itself
    /// (which the client chose) is never stored or sent to the target.
    static func referralID(agency: AgencyID, client: String, idempotencyKey: String) -> String {
        let digest = SHA256.hash(data: Data("hanaro/idempotency/v1\n\(client)\n\(idempotencyKey)".utf8))
        let hex = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
        return "\(agency.rawValue.uppercased())-API-\(hex)"
    }

    /// `GET /v1/referrals`.
    func listReferrals(_ request: Request, client: APIToken) async throws -> Response {
        let parameters = try FormQuery(request)
        var direction: ReferralDirection?
        if let text = parameters.get("direction") {
            guard let parsed = ReferralDirection(rawValue: text) else { throw Problem.badRequest("direction must be incoming or outgoing", field: "direction") }
            direction = parsed
        }
        var status: ReferralStatus?
        if let text = parameters.get("status") {
            guard let parsed = ReferralStatus(name: text) else {
                throw Problem.badRequest("status must be one of \(ReferralStatus.allCases.map(\.name).joined(separator: ", "))", field: "status")
            }
            status = parsed
        }
        let limit = try Self.limit(parameters.get("limit"), default: 20, max: 100)
        let page = try await replica.referrals(for: agency, direction: direction, status: status, limit: limit, cursor: parameters.get("cursor"))
        let items = page.items.compactMap { item in
            item.version.referral.map { ReferralView($0, version: item.version, seq: item.seq, viewer: agency, showContact: client.scopes.contains(.refer)) }
        }
        return Self.json(200, ReferralPageView(items: items, nextCursor: Nullable(page.nextCursor)))
    }

    /// `PATCH /v1/referrals/{id}`: a status change within this agency's role, a note, or both.
    func updateReferral(_ id: String, _ body: ReferralUpdateRequest, client: APIToken) async throws -> Response {
        guard body.status != nil || body.note != nil else { throw Problem.badRequest("give status, note or both") }
        let key = try await referralKey(id)
        var status: ReferralStatus?
        if let text = body.status {
            guard let parsed = ReferralStatus(name: text) else {
                throw Problem.badRequest("status must be one of \(ReferralStatus.allCases.map(\.name).joined(separator: ", "))", field: "status")
            }
            status = parsed
        }
        if let note = body.note {
            guard !note.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, note.count <= 2000 else {
                throw Problem.unprocessable("a note holds 1 to 2000 characters", field: "note")
            }
        }
        if let status {
            let current = try await replica.record(key)?.referral
            // A move the lattice forbids is refused (409), also to a status this agency set
            // before: the store takes a status it already recorded for a replayed event (an
            // adapter reading a feed again) and would answer as if it were made.
            if let referral = current, let role = referral.role(of: agency), status.allowedRoles.contains(role),
               status != referral.status, !status.canFollow(referral.status) {
                throw Problem(409, "invalid-transition", "The status cannot change this way",
                              "status cannot move from \(referral.status.name) to \(status.name)", errors: [.init(field: "status", reason: "not after \(referral.status.name)")])
            }
            // The current status again is a no-op (200) for either party, whoever set it (the
            // origin closing what the target closed answered 409 before).
            let mayRepeat = current?.role(of: agency).map { status.allowedRoles.contains($0) } ?? false
            if !(current?.status == status && mayRepeat) {
                _ = try await replica.author(.setStatus(status), key: key, by: agency)
            }
        }
        if let note = body.note { _ = try await replica.author(.addNote(note), key: key, by: agency) }
        return try await referralResponse(key, client: client, status: 200)
    }

    /// The referral an id names, among those this agency takes part in: `origin:local-id`, or a
    /// bare local id when only one referral of this agency has it.
    func referralKey(_ id: String) async throws -> RecordKey {
        if let colon = id.firstIndex(of: ":") {
            guard let origin = AgencyID(rawValue: String(id[..<colon])) else { throw Problem.notFound("no referral \(id)") }
            let key = RecordKey(kind: .referral, owner: origin, localID: String(id[id.index(after: colon)...]))
            guard let referral = try await replica.record(key)?.referral, referral.role(of: agency) != nil else {
                throw Problem.notFound("no referral \(id) from or to \(agency.rawValue)")
            }
            return key
        }
        let keys = try await replica.referralKeys(localID: id, involving: agency)
        switch keys.count {
        case 0: throw Problem.notFound("no referral \(id) from or to \(agency.rawValue)")
        case 1: return keys[0]
        default:
            throw Problem(409, "ambiguous-id", "Several referrals have this id",
                          "\(keys.count) referrals from different agencies are called \(id); name one as \(keys.map { "\($0.owner.rawValue):\($0.localID)" }.joined(separator: " or "))")
        }
    }

    func referralResponse(_ key: RecordKey, client: APIToken, status: Int) async throws -> Response {
        guard let version = try await replica.record(key), let referral = version.referral else { throw Problem.notFound("no referral \(key.localID)") }
        let seq = try await replica.sequence(of: key) ?? 0
        let view = ReferralView(referral, version: version, seq: seq, viewer: agency, showContact: client.scopes.contains(.refer))
        let location = "/v1/referrals/\(view.id)"
        return Self.json(status, view, headers: status == 201 ? [.location: location] : [:])
    }
}
