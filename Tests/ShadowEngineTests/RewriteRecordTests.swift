import Testing
import ShadowCore
@testable import ShadowEngine

/// The rewrite record of a commit message (FORMAT.md §5.4), read strictly.
@Suite struct RewriteRecordTests {
    static let metadata = String(repeating: "0", count: 154)
    static let replaced = ObjectID(hex: "89abcdef0123456789abcdef0123456789abcdef")!

    @Test func theMessageOfTheVectorIsWhatIsWrittenAndRead() {
        let message = CommitMessage.make(sealed: Self.metadata, replacing: Self.replaced)
        #expect(message == "Shdw-Meta: \(Self.metadata)\nShdw-Rewrite: 89abcdef0123456789abcdef0123456789abcdef\n")
        #expect(CommitMessage.rewriteRecord(message) == Self.replaced)
        #expect(CommitMessage.sealedMetadata(message) == Self.metadata)
        #expect(CommitMessage.rewriteRecord(CommitMessage.make(sealed: Self.metadata, replacing: nil)) == nil)
    }

    @Test func anythingElseIsNoRecord() {
        let good = "Shdw-Meta: \(Self.metadata)\nShdw-Rewrite: 89abcdef0123456789abcdef0123456789abcdef\n"
        for bad in [good + "Shdw-Rewrite: 89abcdef0123456789abcdef0123456789abcdef\n",  // two records
                    good.replacingOccurrences(of: "89abcdef0123", with: "89ABCDEF0123"),  // upper case
                    String(good.dropLast()),  // no final LF
                    good.replacingOccurrences(of: "Shdw-Rewrite: ", with: "Shdw-Rewrite:"),
                    "Shdw-Rewrite: 89abcdef0123456789abcdef0123456789abcdef\nShdw-Meta: \(Self.metadata)\n",  // order
                    good + "\n"] {
            #expect(CommitMessage.lines(bad) == nil, "\(bad)")
        }
    }
}
