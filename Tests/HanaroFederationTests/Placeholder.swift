import Testing
@Test func federationPlaceholder() { #expect(Bool(true)) }
