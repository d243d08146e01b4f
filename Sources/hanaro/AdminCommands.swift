import ArgumentParser
import Foundation
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
        let (code, json) = await AdminClient.request(.POST, admin, "/admin/resync", body: ["agency": agency, "full": full])
        guard code == 202, let job = json as? [String: Any], let id = job["id"] as? String else { fail(AdminClient.message(json)) }
        guard wait else {
            print("resync \(id) of \(agency)\(full ? " (full)" : "") queued (its progress: GET /admin/resync/\(id) on the admin API; or run with --wait)")
            return
        }
        let terminal = isatty(STDOUT_FILENO) == 1
        var lastLine = ""
        var tick = 0
        while true {
            let (code, json) = await AdminClient.request(.GET, admin, "/admin/resync/\(id)")
            guard code == 200, let job = json as? [String: Any] else { fail(AdminClient.message(json)) }
            let state = job["state"] as? String ?? "?"
            let items = job["items_read"] as? Int ?? 0
            let pages = job["pages_read"] as? Int ?? 0
            let step = job["step"] as? String ?? state
            if terminal {
                // An indeterminate bar (the agency's total is not known in advance) with the counts.
                let width = 24
                let position = tick % (2 * width - 2)
                let head = position < width ? position : 2 * width - 2 - position
                var bar = Array(repeating: Character("·"), count: width)
                for i in max(0, head - 3)...head { bar[i] = "█" }
                if state == "done" { bar = Array(repeating: "█", count: width) }
                FileHandle.standardOutput.write(Data("\r\u{1B}[2K[\(String(bar))] \(step) · \(items) items · \(pages) pages".utf8))
                tick += 1
            } else {
                let line = "\(state) \(step): \(items) items, \(pages) pages"
                if line != lastLine { print(line); lastLine = line }
            }
            if state == "done" || state == "failed" {
                if terminal { print("") }
                print("before: \(job["programs_before"] ?? "-") programs, \(job["referrals_before"] ?? "-") referrals, digest \(job["digest_before"] ?? "-")")
                print("after:  \(job["programs_after"] ?? "-") programs, \(job["referrals_after"] ?? "-") referrals, digest \(job["digest_after"] ?? "-")")
                if state == "failed" { fail("resync \(id) failed: \(job["error"] as? String ?? "unknown reason")") }
                print("resync \(id) done")
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// `hanaro conflicts [list|show ID|resolve ID --keep VERSION]`: the conflict log and the admin
/// override (a resolution is a new version that dominates the colliding ones and replicates).
struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "conflicts", abstract: "List, show or resolve conflicts.")

    @Argument(help: "list (default), show or resolve.") var action: String = "list"
    @Argument(help: "The conflict id (show, resolve).") var id: String?
    @Option(help: "The colliding version to keep (as listed under versions, e.g. kamco:118014...).") var keep: String?
    @Option(help: "list: open (default), resolved, superseded or all.") var state: String = "open"
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: NodeConnection

    func run() async throws {
        let (_, admin) = await connection.resolve()
        switch action {
        case "list":
            let (code, body) = await AdminClient.request(.GET, admin, "/admin/conflicts?state=\(state)")
            guard code == 200, let entries = body as? [[String: Any]] else { fail(AdminClient.message(body)) }
            if json { return printJSON(entries) }
            if entries.isEmpty { print("no \(state == "all" ? "" : state + " ")conflicts") }
            for entry in entries {
                print("\(entry["id"] ?? "")  \(entry["state"] ?? "")  \(entry["record"] ?? "")  field \(entry["field"] ?? "")  versions \((entry["versions"] as? [String] ?? []).joined(separator: " "))  kept \(entry["kept"] ?? "")")
            }
        case "show":
            guard let id else { throw ValidationError("show needs the conflict id") }
            let (code, body) = await AdminClient.request(.GET, admin, "/admin/conflicts/\(id)")
            guard code == 200 else { fail(AdminClient.message(body)) }
            printJSON(body ?? [:])
        case "resolve":
            guard let id, let keep else { throw ValidationError("resolve needs the conflict id and --keep VERSION") }
            let (code, body) = await AdminClient.request(.POST, admin, "/admin/conflicts/\(id)/resolve", body: ["keep": keep])
            guard code == 200 else { fail(AdminClient.message(body)) }
            print("conflict \(id) resolved: kept \(keep); the resolution replicates to every node")
        default:
            throw ValidationError("unknown action \(action): list, show or resolve")
        }
    }
}

/// `hanaro quarantine [list|retry ID]`: records refused with their reason, and a retry once the
/// cause is fixed.
struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quarantine", abstract: "List quarantined records or retry one.")

    @Argument(help: "list (default) or retry.") var action: String = "list"
    @Argument(help: "The item id (retry).") var id: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: NodeConnection

    func run() async throws {
        let (_, admin) = await connection.resolve()
        switch action {
        case "list":
            let (code, body) = await AdminClient.request(.GET, admin, "/admin/quarantine")
            guard code == 200, let entries = body as? [[String: Any]] else { fail(AdminClient.message(body)) }
            if json { return printJSON(entries) }
            if entries.isEmpty { print("quarantine is empty") }
            for entry in entries {
                print("\(entry["id"] ?? "")  \(entry["source"] ?? "")  \(entry["record"] ?? "-")  \(entry["code"] ?? "")  attempts \(entry["attempts"] ?? "")  \(entry["reason"] ?? "")")
            }
        case "retry":
            guard let id else { throw ValidationError("retry needs the item id") }
            let (code, body) = await AdminClient.request(.POST, admin, "/admin/quarantine/\(id)/retry")
            guard code == 200 else { fail(AdminClient.message(body)) }
            print("item \(id) applied and released")
        default:
            throw ValidationError("unknown action \(action): list or retry")
        }
    }
}

/// `hanaro audit verify`: checks the hash chain of the audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Verify the audit log's hash chain.")

    @Argument(help: "verify") var action: String = "verify"
    @OptionGroup var connection: NodeConnection

    func run() async throws {
        guard action == "verify" else { throw ValidationError("unknown action \(action): verify") }
        let (_, admin) = await connection.resolve()
        let (code, body) = await AdminClient.request(.GET, admin, "/admin/audit/verify")
        guard code == 200, let verdict = body as? [String: Any] else { fail(AdminClient.message(body)) }
        if verdict["intact"] as? Bool == true {
            print("audit log intact: \(verdict["entries"] ?? 0) entries, every hash chains to the one before")
        } else {
            fail("audit log broken at entry \(verdict["first_broken_seq"] ?? "?"): it was altered or truncated; keep the file for investigation")
        }
    }
}

func printJSON(_ value: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) {
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
