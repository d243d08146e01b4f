/// The signature types (C2SP signed-note "signature type identifier bytes") this module speaks.
public enum NoteSignatureType: UInt8, Sendable, Hashable {
    /// Ed25519 over the note text (c2sp.org/signed-note).
    case ed25519 = 0x01
    /// Timestamped Ed25519 witness cosignature over `cosignature/v1`, a time line and the
    /// checkpoint text (c2sp.org/tlog-cosignature).
    case cosignatureV1 = 0x04
}
