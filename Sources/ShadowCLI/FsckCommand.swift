import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct FsckCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "fsck", abstract: "Verify every signature and decrypt every file of the current tree.")

    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (_, history) = try Workspace().openHistory(folder.path)
            guard let head = try history.head else { print("no history yet"); return }
            let r = try history.fsck(head: head)
            print("ok: \(r.commits) commits signed and verified; \(r.entries) entries, \(r.files) files, \(r.bytes) bytes decrypted and authenticated at \(head.short)")
        }
    }
}
