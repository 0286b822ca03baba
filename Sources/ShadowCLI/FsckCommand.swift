import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct FsckCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "fsck", abstract: "Verify every signature and decrypt every file of the current tree.")

    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            guard let (head, r) = try Workspace().fsck(folder.path) else { print("no history yet"); return }
            print("ok: \(r.commits) commits signed and verified; \(r.entries) entries, \(r.files) files, \(r.bytes) bytes decrypted and authenticated at \(head.short)")
        }
    }
}
