/// Why an admin request failed: an HTTP status and a message that says what to do.
public struct AdminError: Error, Sendable, CustomStringConvertible {
    public enum Code: Int, Sendable {
        case badRequest = 400
        case unauthorized = 401
        case notFound = 404
        case conflict = 409
        case failed = 500
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
