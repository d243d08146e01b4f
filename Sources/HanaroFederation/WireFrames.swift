public import NIOCore

/// The body of a federation batch: versions in Hanaro's canonical encoding, each prefixed by its
/// length as a LEB128 varint (content type `application/x-hanaro-batch`). Documented in
/// docs/FEDERATION.md.
public enum WireFrames {
    public static let contentType = "application/x-hanaro-batch"
    /// No single version is larger than this; a longer frame means a broken or hostile sender.
    public static let maxFrameBytes = 1 << 20

    /// Encodes frames into one buffer.
    public static func encode(_ frames: [[UInt8]], allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: frames.reduce(0) { $0 + $1.count + 3 })
        for frame in frames {
            var length = UInt64(frame.count)
            while length >= 0x80 {
                buffer.writeInteger(UInt8(truncatingIfNeeded: length) | 0x80)
                length >>= 7
            }
            buffer.writeInteger(UInt8(length))
            buffer.writeBytes(frame)
        }
        return buffer
    }

    /// Splits a body into frames (at most `maxFrames`).
    /// - Throws: ``FederationError`` `.protocolError` on a truncated or oversized frame, or too many.
    public static func decode(_ buffer: ByteBuffer, maxFrames: Int = .max) throws(FederationError) -> [[UInt8]] {
        var buffer = buffer
        var frames: [[UInt8]] = []
        while buffer.readableBytes > 0 {
            guard frames.count < maxFrames else {
                throw FederationError(.protocolError, "a batch holds more than \(maxFrames) versions; send smaller batches")
            }
            var length: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard let byte = buffer.readInteger(as: UInt8.self), shift < 35 else {
                    throw FederationError(.protocolError, "batch body is truncated inside a frame length")
                }
                length |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            guard length <= UInt64(maxFrameBytes) else {
                throw FederationError(.protocolError, "a frame of \(length) bytes exceeds the \(maxFrameBytes)-byte limit")
            }
            guard let bytes = buffer.readBytes(length: Int(length)) else {
                throw FederationError(.protocolError, "batch body is truncated: a frame announces \(length) bytes, \(buffer.readableBytes) remain")
            }
            frames.append(bytes)
        }
        return frames
    }
}
