/// A multi-value register: one field (or group of fields written together) of a replicated
/// record, holding every value written concurrently and not yet superseded.
///
/// Each write is tagged with its ``Dot``. Merging two states keeps an entry when both sides hold it,
/// or when one side holds it and the other side's version vector does not cover its dot (the other
/// side never saw it, so it cannot have superseded it). This is the textbook dot-based
/// multi-value register, so merge is commutative, associative and idempotent.
///
/// More than one entry means the field *truly collided*: two writes, neither of which saw the
/// other. The visible value is then the entry with the greatest dot — last writer wins on the
/// hybrid logical clock, agency id breaks ties — and the collision stays in the state, on every
/// replica alike, until a later write (an admin's resolution or the owner's next edit) supersedes
/// all entries.
public struct MVRegister<Value: Hashable & Sendable & CanonicalEncodable>: Hashable, Sendable {
    /// One written value and the write that produced it.
    public struct Entry: Hashable, Sendable {
        public var dot: Dot
        public var value: Value

        public init(dot: Dot, value: Value) {
            self.dot = dot
            self.value = value
        }
    }

    /// The surviving writes, in ascending dot order (never empty).
    public private(set) var entries: [Entry]

    /// A register holding one written value.
    public init(_ value: Value, dot: Dot) {
        entries = [Entry(dot: dot, value: value)]
    }

    /// A register from decoded entries; they are sorted into canonical order.
    /// - Throws: `.malformed` when `entries` is empty or two entries share a dot.
    public init(entries: [Entry]) throws(ValidationError) {
        guard !entries.isEmpty else { throw ValidationError(.malformed, "a register holds at least one value") }
        self.entries = entries.sorted(by: Self.canonicalOrder)
        for (a, b) in zip(self.entries, self.entries.dropFirst()) where a.dot == b.dot {
            throw ValidationError(.malformed, "a register holds two values for write \(a.dot)")
        }
    }

    /// The same register with every value transformed (the dots are kept).
    public func mapValues(_ transform: (Value) -> Value) -> MVRegister {
        var copy = self
        copy.entries = entries.map { Entry(dot: $0.dot, value: transform($0.value)) }
        return copy
    }

    /// The visible value: the one with the greatest dot.
    public var value: Value { entries[entries.count - 1].value }

    /// The dot of the visible value.
    public var dot: Dot { entries[entries.count - 1].dot }

    /// Whether concurrent writes collided here.
    public var isConflicted: Bool { entries.count > 1 }

    /// Replaces every value by a new write, which supersedes them all.
    public mutating func assign(_ value: Value, dot: Dot) {
        entries = [Entry(dot: dot, value: value)]
    }

    /// The register of a state that includes both `self` (whose record vector is `context`) and
    /// `other` (whose record vector is `otherContext`).
    public func merged(context: VersionVector, with other: MVRegister, otherContext: VersionVector) -> MVRegister {
        var kept: [Entry] = []
        kept.reserveCapacity(entries.count + other.entries.count)
        for entry in entries where other.entries.contains(where: { $0.dot == entry.dot }) || !otherContext.covers(entry.dot) {
            kept.append(entry)
        }
        for entry in other.entries where !entries.contains(entry) {
            // A write both sides hold (possibly in two forms) is joined below; a write only the
            // other side holds survives unless this side saw it and superseded it.
            if entries.contains(where: { $0.dot == entry.dot }) || !context.covers(entry.dot) {
                kept.append(entry)
            }
        }
        // One write (one dot) must hold one value. Two values for one dot happen legitimately
        // when one side holds a value the other was only told about (a withheld personal write);
        // otherwise only with inconsistent input. Either way keep one, the same on every replica.
        kept.sort(by: Self.canonicalOrder)
        var index = 1
        while index < kept.count {
            if kept[index].dot == kept[index - 1].dot {
                kept[index - 1] = Entry(dot: kept[index].dot, value: Self.join(sameWrite: kept[index - 1].value, kept[index].value))
                kept.remove(at: index)
            } else {
                index += 1
            }
        }
        if kept.isEmpty {
            // Each side claims to have seen and superseded the other's write, which only happens
            // with inconsistent input (a vector that covers a dot its register never held).
            // Keep the greatest write of either side so that the result is still deterministic.
            let mine = entries[entries.count - 1]
            let theirs = other.entries[other.entries.count - 1]
            kept = [Self.canonicalOrder(mine, theirs) ? theirs : mine]
        }
        var result = self
        result.entries = kept
        return result
    }

    /// The value of a write held in two forms.
    static func join(sameWrite a: Value, _ b: Value) -> Value {
        if let joinable = Value.self as? any SameWriteJoinable.Type {
            return joinable.joinAny(a, b) as! Value
        }
        return a.canonicalBytes.lexicographicallyPrecedes(b.canonicalBytes) ? b : a
    }

    /// Ascending dot order; the same dot with two values (only from inconsistent input) orders by
    /// canonical bytes, so that every replica still agrees.
    static func canonicalOrder(_ a: Entry, _ b: Entry) -> Bool {
        if a.dot != b.dot { return a.dot < b.dot }
        return a.value.canonicalBytes.lexicographicallyPrecedes(b.value.canonicalBytes)
    }
}

extension MVRegister: CanonicalEncodable {
    /// Count, then each entry as dot and value.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(UInt64(entries.count))
        for entry in entries {
            writer.write(entry.dot)
            entry.value.encode(to: &writer)
        }
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        let count = try reader.readCount()
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let dot = try reader.readDot()
            entries.append(Entry(dot: dot, value: try Value(from: &reader)))
        }
        try self.init(entries: entries)
    }
}

/// A value with a rule for one write held in two forms (see ``PersonalSlot``).
public protocol SameWriteJoinable {
    /// The value to keep for one write seen as `a` on one side and `b` on the other:
    /// commutative, associative and idempotent.
    static func join(sameWrite a: Self, _ b: Self) -> Self
}

extension SameWriteJoinable {
    static func joinAny(_ a: Any, _ b: Any) -> Any { join(sameWrite: a as! Self, b as! Self) }
}

/// A grow-only set of dotted elements (status events, notes): merge is set union, keyed by dot.
public struct DottedSet<Element: Dotted>: Hashable, Sendable {
    /// The elements in ascending dot order, one per dot.
    public private(set) var elements: [Element]

    public init() { elements = [] }

    /// A set from decoded elements, sorted and de-duplicated by dot.
    public init(_ elements: [Element]) {
        self.elements = []
        for element in elements { insert(element) }
    }

    /// Adds an element; an element with the same dot is already there and is kept.
    public mutating func insert(_ element: Element) {
        var low = 0
        var high = elements.count
        while low < high {
            let mid = (low + high) / 2
            if elements[mid].dot < element.dot { low = mid + 1 } else { high = mid }
        }
        if low < elements.count, elements[low].dot == element.dot {
            // Same write: keep the canonical one of the two so the union stays deterministic.
            if element.canonicalBytes.lexicographicallyPrecedes(elements[low].canonicalBytes) {
                elements[low] = element
            }
            return
        }
        elements.insert(element, at: low)
    }

    /// The union of both sets.
    public func union(_ other: DottedSet) -> DottedSet {
        if other.elements.isEmpty || other.elements == elements { return self }
        var result = self
        for element in other.elements { result.insert(element) }
        return result
    }
}

/// An element of a ``DottedSet``: identified by the dot of the write that created it.
public protocol Dotted: Hashable, Sendable, CanonicalEncodable {
    var dot: Dot { get }
}

extension DottedSet: CanonicalEncodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.writeArray(elements) { $1.encode(to: &$0) }
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        self.init(try reader.readArray { (r: inout CanonicalReader) throws(ValidationError) in try Element(from: &r) })
    }
}
