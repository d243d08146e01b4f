import HanaroCore
import HanaroFixtures
import Testing

/// The packed eligibility table answers exactly as the rules do, program by program.
@Suite("Packed eligibility")
struct EligibilityTableTests {
    @Test("For 10,000 random programs and 60 random profiles, the packed class (whole table, and one program alone as quickCheck) equals the detailed rules (check)")
    func agreesWithTheRules() throws {
        let seed: UInt64 = 20261201
        var rng = SplitMix64(seed: seed)
        // Few distinct codes so that prefixes meet often: 시도 and 시군구 of two provinces, KSIC
        // sections with nested digit codes.
        let regions = try ["11", "11110", "11140", "26", "26110", "51", "51110", "52"].map { try RegionCode($0) }
        let industries = try ["C", "C10", "C101", "C1012", "G", "G47", "G471", "I56", "I5611"].map { try KSICCode($0) }
        func range(_ rng: inout SplitMix64) -> BoundedRange {
            switch rng.next() % 4 {
            case 0: return BoundedRange.unbounded
            case 1: return BoundedRange(min: Int64(rng.next() % 50), max: nil)
            case 2: return BoundedRange(min: nil, max: Int64(rng.next() % 50))
            default:
                let low = Int64(rng.next() % 40)
                return BoundedRange(min: low, max: low + Int64(rng.next() % 20))
            }
        }
        func some<T>(_ items: [T], _ rng: inout SplitMix64, upTo count: UInt64) -> [T] {
            (0..<Int(rng.next() % (count + 1))).map { _ in items[Int(rng.next() % UInt64(items.count))] }
        }
        let programs = (0..<10_000).map { _ in
            Eligibility(regions: some(regions, &rng, upTo: 3), industries: some(industries, &rng, upTo: 3),
                        businessAgeMonths: range(&rng), revenueKRW: range(&rng), employees: range(&rng), ownerAge: range(&rng))
        }
        let table = EligibilityTable(programs)
        #expect(table.count == programs.count)
        var seen: [EligibilityClass: Int] = [:]
        for _ in 0..<60 {
            func fact(_ rng: inout SplitMix64) -> Int64? { rng.next() % 3 == 0 ? nil : Int64(rng.next() % 60) }
            let profile = BusinessProfile(region: rng.next() % 4 == 0 ? nil : regions[Int(rng.next() % UInt64(regions.count))],
                                          industry: rng.next() % 4 == 0 ? nil : industries[Int(rng.next() % UInt64(industries.count))],
                                          businessAgeMonths: fact(&rng), employees: fact(&rng), revenueKRW: fact(&rng), ownerAge: fact(&rng))
            let packed = PackedProfile(profile)
            var classes: [EligibilityClass] = []
            table.classifyAll(packed) { _, result in classes.append(result) }
            #expect(classes.count == programs.count)
            for (index, program) in programs.enumerated() {
                let expected = program.quickCheck(profile)
                let detailed: EligibilityClass = switch program.check(profile) {
                case .eligible: .eligible
                case .unknown: .unknown
                case .ineligible: .ineligible
                }
                if expected != detailed || classes[index] != expected || table.classify(index, packed) != expected {
                    Issue.record("seed \(seed): program \(program) with profile \(profile): table says \(classes[index]), quickCheck \(expected), check \(detailed)")
                    return
                }
                seen[expected, default: 0] += 1
            }
        }
        // The sample reaches every outcome, often.
        #expect(seen.values.count == 3 && seen.values.allSatisfy { $0 > 3_000 }, "\(seen)")
    }

    @Test("A filter skips programs without classifying them")
    func filtered() throws {
        let table = EligibilityTable([Eligibility(), Eligibility(regions: [try RegionCode("11")]), Eligibility()])
        var visited: [Int] = []
        table.classifyAll(PackedProfile(BusinessProfile()), where: { $0 != 1 }) { index, result in
            visited.append(index)
            #expect(result == .eligible)
        }
        #expect(visited == [0, 2])
        #expect(table.classify(1, PackedProfile(BusinessProfile())) == .unknown)
        #expect(table.classify(1, PackedProfile(BusinessProfile(region: try RegionCode("26")))) == .ineligible)
        #expect(table.classify(1, PackedProfile(BusinessProfile(region: try RegionCode("11140")))) == .eligible)
    }
}
