import Testing
import ShadowCore
@testable import ShadowSystem

@Suite struct IgnoreRulesTests {
    func ignored(_ rules: IgnoreRules, _ path: String, directory: Bool = false) throws -> Bool {
        rules.ignores(try PlainPath(path), isDirectory: directory)
    }

    @Test func defaultsIgnoreEditorTemporariesAndNothingElse() throws {
        let d = IgnoreRules.defaults
        for path in ["notes/.today.txt.swp", "a.swp", "draft.txt~", ".#draft.txt", "#draft.txt#", "4913",
                     "x/report.odt.kate-swp", ".goutputstream-AB12", ".~lock.sheet.ods#", ".shadowsyncignore.local"] {
            #expect(try ignored(d, path), "\(path) should be ignored")
        }
        for path in ["notes/today.txt", "swp", "a.swp.txt", "~home", "x/4913x", ".shadowsyncignore", "sub/.shadowsyncignore.local.keep"] {
            #expect(try !ignored(d, path), "\(path) should be synced")
        }
        // The local ignore file is ignored only at the root, where it means something.
        #expect(try !ignored(d, "sub/.shadowsyncignore.local"))
    }

    @Test func gitignoreSemantics() throws {
        let r = IgnoreRules("""
        # build output
        build/
        *.log
        !keep.log
        /top-only.txt
        docs/*.tmp
        cache/**/blob
        data[0-9].bin
        \\#literal
        trailing.txt   
        """)
        // A trailing slash matches directories only, at any depth; what is below them is ignored too.
        #expect(try ignored(r, "build", directory: true))
        #expect(try ignored(r, "src/build", directory: true))
        #expect(try ignored(r, "build/out.o"))
        #expect(try !ignored(r, "build"))
        // The last matching rule wins.
        #expect(try ignored(r, "x/debug.log"))
        #expect(try !ignored(r, "x/keep.log"))
        // A leading slash, or one inside, anchors to the root.
        #expect(try ignored(r, "top-only.txt"))
        #expect(try !ignored(r, "sub/top-only.txt"))
        #expect(try ignored(r, "docs/a.tmp"))
        #expect(try !ignored(r, "docs/sub/a.tmp"))
        #expect(try !ignored(r, "other/docs/a.tmp"))
        // `**` crosses directories, including none.
        #expect(try ignored(r, "cache/blob"))
        #expect(try ignored(r, "cache/a/b/blob"))
        #expect(try !ignored(r, "cache/a/blobs"))
        // Classes, escapes, and trailing spaces.
        #expect(try ignored(r, "data7.bin"))
        #expect(try !ignored(r, "dataX.bin"))
        #expect(try ignored(r, "#literal"))
        #expect(try ignored(r, "trailing.txt"))
    }

    /// Literal, `*suffix` and `prefix*` patterns skip the glob engine; they must agree with it exactly,
    /// including anchoring and `*` never crossing a `/`.
    @Test func fastPatternShapesAgreeWithGlobbing() throws {
        let r = IgnoreRules("*.txt\n/top*\nexact\n/rootonly\nlog*\n")
        for path in ["a.txt", "x/y/b.txt", "topper", "exact", "x/exact", "rootonly", "logfile", "d/log", ".txt"] {
            #expect(try ignored(r, path), "\(path) should be ignored")
        }
        for path in ["a.txt.bak", "x/topper", "exactly", "x/rootonly", "blog", "txt", "inexact"] {
            #expect(try !ignored(r, path), "\(path) should not be ignored")
        }
        // A glob-shaped equivalent of each fast rule gives the same verdicts.
        let g = IgnoreRules("*[.]txt\n/top[a-z]*\nexac[t]\n/rootonl[y]\nlo[g]*\n")
        for path in ["a.txt", "x/y/b.txt", "topper", "exact", "x/exact", "rootonly", "logfile", "d/log",
                     "a.txt.bak", "x/topper", "exactly", "x/rootonly", "blog", "txt", "inexact"] {
            #expect(try ignored(r, path) == ignored(g, path), "\(path)")
        }
        // The walk's question (parents known not ignored) agrees with the full one for such paths.
        for path in ["a.txt", "x/y/b.txt", "x/exact", "blog"] {
            let p = try PlainPath(path)
            #expect(r.ignoresEntry(p, isDirectory: false) == r.ignores(p, isDirectory: false))
        }
    }

    /// The scan asks about a name in a directory before it builds the path; the verdict must be the
    /// one for the whole path, for anchored rules at any depth, negations and directory-only rules.
    @Test func askingByParentAndNameAgreesWithAskingByPath() throws {
        let r = IgnoreRules("*.txt\n!keep.txt\n/top*\n/a/b/*.log\nbuild/\n/a/**/deep\nexact\n/x/exact\n.#*\n")
        let paths = ["a.txt", "keep.txt", "d/keep.txt", "topper", "a/topper", "a/b/c.log", "a/c.log", "x/a/b/c.log",
                     "build", "a/build", "a/x/y/deep", "deep", "b/a/deep", "exact", "x/exact", "y/exact", "a/.#lock", "plain"]
        for path in paths {
            let p = try PlainPath(path)
            for isDirectory in [false, true] {
                let byName = p.lastComponent.withUnsafeBytes { r.ignoresEntry(in: p.parent, name: $0, isDirectory: isDirectory) }
                #expect(byName == r.ignoresEntry(p, isDirectory: isDirectory), "\(path) (directory: \(isDirectory))")
            }
        }
    }

    /// Each rule first compares the pattern's plain first and last bytes: escapes, classes and `**`
    /// must not be mistaken for them.
    @Test func firstAndLastByteShortcutsKeepGlobVerdicts() throws {
        let cases: [(String, [String], [String])] = [
            ("\\#*#", ["#notes#", "d/#x#"], ["notes#", "#notes"]),
            ("lit\\*", ["lit*"], ["litx", "lit"]),
            ("[ab]c", ["ac", "d/bc"], ["cc", "ab"]),
            ("a?", ["ab", "x/az"], ["b", "abc"]),
            ("d/**/e", ["d/x/y/e", "d/e"], ["d/x/f", "x/d/e"]),
            ("**/z", ["q/z", "z"], ["zz", "q/za"]),
            ("*.sw?", [".a.swp", "b.swx"], ["a.sw", "a.swpx"]),
        ]
        for (pattern, yes, no) in cases {
            let r = IgnoreRules(pattern)
            for path in yes { #expect(try ignored(r, path), "\(pattern) should ignore \(path)") }
            for path in no { #expect(try !ignored(r, path), "\(pattern) should not ignore \(path)") }
        }
    }

    @Test func negationCannotReachIntoAnIgnoredDirectory() throws {
        // As in git: once a directory is ignored, nothing below it comes back.
        let r = IgnoreRules("private/\n!private/shared.txt\n")
        #expect(try ignored(r, "private/shared.txt"))
        let s = IgnoreRules("*.tmp\n!important.tmp\n")
        #expect(try !ignored(s, "a/important.tmp"))
        #expect(try ignored(s, "a/other.tmp"))
    }

    @Test func loadReadsTheSyncedAndTheLocalFile() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "ignore-test-")
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.writeAtomically(Array("shared-secret.txt\n".utf8), to: root.appending(IgnoreRules.syncedFileName), mode: 0o644)
        try FileSystem.writeAtomically(Array("mine/\n".utf8), to: root.appending(IgnoreRules.localFileName), mode: 0o644)
        let r = IgnoreRules.load(folder: root)
        #expect(try ignored(r, "shared-secret.txt"))
        #expect(try ignored(r, "mine/x"))
        #expect(try ignored(r, "a.swp"))
        #expect(try !ignored(r, "other.txt"))
    }
}
