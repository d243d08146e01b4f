/// Everything wrong with a node's configuration, found at once (`hanaro check-config` lists them
/// all). HanaroDaemon's error type for configuration; each problem names the file and the key.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// One line per problem: `FILE: key: what is wrong; what to do`.
    public var problems: [String]

    public init(_ problems: [String]) { self.problems = problems }

    public var description: String { problems.joined(separator: "\n") }
}
