public import HanaroCore

extension AgencySimulator {
    /// The whole program data set rendered as the agency's native page bodies (daily files for
    /// kamco), exactly as the API serves them: the payloads a raw-parse benchmark times.
    public func nativeProgramPages(pageSize: Int) -> [[UInt8]] {
        let all = programs.values.sorted { $0.position < $1.position }
        if agency == .kamco {
            let days = Dictionary(grouping: all) { $0.updatedAt.date }
            return days.keys.sorted().compactMap { KAMCOAPI.csv(header: KAMCOAPI.programColumns, rows: days[$0]!.map(KAMCOAPI.row)) }
        }
        var pages: [[UInt8]] = []
        for (index, start) in stride(from: 0, to: all.count, by: pageSize).enumerated() {
            let slice = Array(all[start..<min(all.count, start + pageSize)])
            switch agency {
            case .semas: pages.append(SEMASAPI.body(slice.map(SEMASAPI.item), total: all.count))
            case .koreg: pages.append(DataGoKrAPI.body(slice.map(DataGoKrAPI.koregItem), total: all.count, pageNo: index + 1, rows: pageSize))
            case .kinfa: pages.append(DataGoKrAPI.body(slice.map(DataGoKrAPI.kinfaItem), total: all.count, pageNo: index + 1, rows: pageSize))
            case .kodit: pages.append(KODITAPI.body(slice.map(KODITAPI.item), total: all.count, page: index + 1, perPage: pageSize))
            case .ewpc: pages.append(EWPCAPI.body(slice.map(EWPCAPI.item), total: all.count, page: index + 1, size: pageSize))
            case .kamco: break
            }
        }
        return pages
    }
}
