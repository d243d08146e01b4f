import ArgumentParser
import Foundation
import HanaroDaemon
import HanaroStore
import NIOHTTP1

/// `hanaro resync AGENCY [--full] [--wait]`: a manual resync of one agency (or `all`) through the
/// admin API. `--full` re-reads everything and reconciles by version vector; `--wait` follows the
/// progress (a bar on a terminal, plain lines otherwise) and prints the counts and the digest
/// before and after. Exit 0 done, 1 failed (with the reason), 2 node unreachable.
struct ResyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resync", abstract: "Resync one agency (or all) now.")

    @Argument(help: "semas, koreg, kodit, kamco, kinfa, ewpc or all.") var agency: String
    @Flag(help: "Re-read everything from the beginning (reconciles by version vector; loses and duplicates nothing).") var full = false
    @Flag(help: "Follow the progress until the resync is done.") var wait = false
    @OptionGroup var connection: NodeConnection

    func run() async throws {
        let (_, admin) = await connection.resolve()
        let queued = await AdminClient.call(.POST, admin, "/admin/resync", body: ResyncRequest(agency: agency, full: full), expecting: 202, as: ResyncJob.self)
        guard wait else {
            Output.line("resync \(queued.id) of \(agency)\(full ? " (full)" : "") queued (its progress: GET /admin/resync/\(queued.id) on the admin API; or run with --wait)")
            return
        }
        let terminal = isatty(STDOUT_FILENO) == 1
        var lastLine = ""
        var tick = 0
        while true {
            let job = await AdminClient.call(.GET, admin, "/admin/resync/\(queued.id)", as: ResyncJob.self)
            let step = job.step ?? job.state.rawValue
            if terminal {
                // An indeterminate bar (the agency's total is not known in advance) with the counts.
                let width = 24
                let position = tick % (2 * width - 2)
                let head = position < width ? position : 2 * width - 2 - position
                var bar = Array(repeating: Character("·"), count: width)
                for i in max(0, head - 3)...head { bar[i] = "█" }
                if job.state == .done { bar = Array(repeating: "█", count: width) }
                Output.write("\r\u{1B}[2K[\(String(bar))] \(step) · \(job.itemsRead) items · \(job.pagesRead) pages")
                tick += 1
            } else {
                let line = "\(job.state.rawValue) \(step): \(job.itemsRead) items, \(job.pagesRead) pages"
                if line != lastLine { Output.line(line); lastLine = line }
            }
            if job.state.isFinished {
                if terminal { Output.line("") }
                func show<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "-" }
                Output.line("before: \(show(job.programsBefore)) programs, \(show(job.referralsBefore)) referrals, digest \(show(job.digestBefore))")
                Output.line("after:  \(show(job.programsAfter)) programs, \(show(job.referralsAfter)) referrals, digest \(show(job.digestAfter))")
                if job.state == .failed { fail("resync \(job.id) failed: \(job.error ?? "unknown reason")") }
                Output.line("resync \(job.id) done")
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// `hanaro conflicts [list|show ID|resolve ID --keep VERSION]`: the conflict log and the admin
/// override (a resolution is a new version that dominates the colliding ones and replicates).
struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts", abstract: "List, show or resolve conflicts.",
        subcommands: [List.self, Show.self, Resolve.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the conflict log (open ones by default).")
        @Option(help: "open (default), resolved, superseded or all.") var state: String = "open"
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: NodeConnection

        func run() async throws {
            let (_, admin) = await connection.resolve()
            let entries = await AdminClient.call(.GET, admin, "/admin/conflicts?state=\(state)", as: [ConflictView].self)
            if json { return Output.json(entries) }
            if entries.isEmpty { Output.line("no \(state == "all" ? "" : state + " ")conflicts") }
            for entry in entries {
                Output.line("\(entry.id)  \(entry.state.rawValue)  \(entry.record)  field \(entry.field)  versions \(entry.versions.joined(separator: " "))  kept \(entry.kept)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one conflict: the colliding versions, the kept one, the record now.")
        @Argument(help: "The conflict id.") var id: String
        @OptionGroup var connection: NodeConnection

        func run() async throws {
            let (_, admin) = await connection.resolve()
            Output.json(await AdminClient.call(.GET, admin, "/admin/conflicts/\(id)", as: ConflictView.self))
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Keep one of the colliding versions (a new version that replicates).")
        @Argument(help: "The conflict id.") var id: String
        @Option(help: "The colliding version to keep (as listed under versions, e.g. kamco:118014...).") var keep: String
        @OptionGroup var connection: NodeConnection

        func run() async throws {
            let (_, admin) = await connection.resolve()
            _ = await AdminClient.call(.POST, admin, "/admin/conflicts/\(id)/resolve", body: ResolveRequest(keep: keep), as: ResolveResponse.self)
            Output.line("conflict \(id) resolved: kept \(keep); the resolution replicates to every node")
        }
    }
}

/// `hanaro quarantine [list|retry ID]`: records refused with their reason, and a retry once the
/// cause is fixed.
struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine", abstract: "List quarantined records or retry one.",
        subcommands: [List.self, Retry.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the items held in quarantine.")
        @Option(help: "held (default), released or discarded.") var state: String = "held"
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: NodeConnection

        func run() async throws {
            let (_, admin) = await connection.resolve()
            let entries = await AdminClient.call(.GET, admin, "/admin/quarantine?state=\(state)", as: [QuarantineView].self)
            if json { return Output.json(entries) }
            if entries.isEmpty { Output.line("quarantine is empty") }
            for entry in entries {
                Output.line("\(entry.id)  \(entry.source)  \(entry.record ?? "-")  \(entry.code)  attempts \(entry.attempts)  \(entry.reason)")
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply a held item again (after its cause was fixed).")
        @Argument(help: "The item id.") var id: Int64
        @OptionGroup var connection: NodeConnection

        func run() async throws {
            let (_, admin) = await connection.resolve()
            _ = await AdminClient.call(.POST, admin, "/admin/quarantine/\(id)/retry", as: RetryResponse.self)
            Output.line("item \(id) applied and released")
        }
    }
}

/// `hanaro audit verify`: checks the hash chain of the audit log; `hanaro audit list`: reads it.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify the audit log's hash chain, or list its entries.",
        subcommands: [Verify.self, List.self], defaultSubcommand: Verify.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit entries, newest first (who did what to which record, when, and the outcome).")
        @Option(help: "Only this action (federation.reject), or every action under a prefix ending in a dot (federation.).") var action: String?
        @Option(help: "Only this actor (peer:kodit, admin@semas, api:crm).") var actor: String?
        @Option(help: "At most this many entries (1-10000).") var limit = 50
        @Option(help: "Only entries before this entry number (seq), to page back.") var before: Int64?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: NodeConnection

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            let (_, admin) = await connection.resolve()
            var query = ["limit=\(limit)"]
            if let action { query.append("action=" + APIOptions.escaped(action)) }
            if let actor { query.append("actor=" + APIOptions.escaped(actor)) }
            if let before { query.append("before=\(before)") }
            let entries = await AdminClient.call(.GET, admin, "/admin/audit?" + query.joined(separator: "&"), as: [AuditView].self)
            if json { return Output.json(entries) }
            if entries.isEmpty { Output.line("no audit entries") }
            let formatter = ISO8601DateFormatter()
            for entry in entries {
                Output.line("\(entry.seq)  \(formatter.string(from: entry.at))  \(entry.actor)  \(entry.action)  \(entry.target)  \(entry.outcome)  \(entry.detail)")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every entry against the one before and against the log's witness-cosigned checkpoints (exit 0 intact, 1 broken, 2 unreachable).")
        @OptionGroup var connection: NodeConnection
        @Option(help: "Check a replica file offline (a copy of <data_dir>/replica.sqlite), without a node or its key.")
        var db: String?
        @Option(help: "With --db: the federation's agency files (agencies/*.yaml), whose signing_keys the anchors must verify under (default: those of --config, or of /etc/hanaro/hanaro.yaml when it exists; else the keys recorded in the file).")
        var agencies: String?

        func run() async throws {
            if let db {
                // The federation's published keys: --agencies, else the agency files of --config
                // (or /etc/hanaro/hanaro.yaml when it exists), else the keys the file records.
                var keys: [AgencyVerifierKey]? = nil
                if let agencies {
                    do { keys = try await FederationKeys.load(from: agencies) } catch { fail(error.description, code: 2) }
                } else if let path = connection.config ?? (FileManager.default.fileExists(atPath: "/etc/hanaro/hanaro.yaml") ? "/etc/hanaro/hanaro.yaml" : nil) {
                    do { keys = try await FederationKeys.load(fromNodeConfiguration: path) } catch { fail(error.description, code: 2) }
                }
                let result: AuditVerification
                do {
                    result = try Replica.verifyAuditAnchored(ofFile: db, keys: keys)
                } catch {
                    fail(error.message, code: 2)
                }
                for note in result.notes { Output.error("note: \(note)") }
                if let broken = result.firstBroken {
                    fail("audit log broken at entry \(broken) of \(db): \(result.problem ?? "it was altered or deleted"); keep the file for investigation")
                }
                Output.line(Self.verdict(entries: Int64(result.entries), through: result.anchoredThrough, unwitnessedFrom: result.unwitnessedFrom,
                                         cosigners: result.cosigners.map(\.rawValue)) + " (\(db), offline)")
                return
            }
            let (_, admin) = await connection.resolve()
            let verdict = await AdminClient.call(.GET, admin, "/admin/audit/verify", as: AuditVerdict.self)
            for note in verdict.notes ?? [] { Output.error("note: \(note)") }
            if verdict.intact {
                Output.line(Self.verdict(entries: verdict.entries, through: verdict.anchoredThrough, unwitnessedFrom: verdict.unwitnessedFrom,
                                         cosigners: verdict.cosigners ?? []))
            } else {
                fail("audit log broken at entry \(verdict.firstBrokenSeq.map(String.init) ?? "?"): \(verdict.problem ?? "it was altered or truncated"); keep the file for investigation")
            }
        }

        /// The verdict line of a log that is not broken: "intact" only for what a witness anchors
        /// (a checkpoint signed only by the node's own key anchors nothing).
        static func verdict(entries: Int64, through: Int64?, unwitnessedFrom: Int64?, cosigners: [String]) -> String {
            let witnesses = cosigners.isEmpty ? "" : " by a checkpoint cosigned by \(cosigners.joined(separator: ", "))"
            guard let from = unwitnessedFrom else {
                return "audit log intact: \(entries) entries, every hash chains to the one before" + (through.map { "; anchored through entry \($0)\(witnesses)" } ?? "")
            }
            let anchored = through.map { "anchored through entry \($0)\(witnesses)" } ?? "no entry is anchored by a witness yet"
            return "audit log chain verifies: \(entries) entries, every hash chains to the one before; \(anchored); entries \(from) to \(entries) are not anchored by a witness yet, so they are not shown intact"
        }
    }
}
